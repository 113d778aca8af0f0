"""The outcome measures' valid ranges and UCUM codes.

The measures the clinic starts with (arcs 0002) get their published ranges and UCUM
codes. A measure the clinic defined itself gets a range wide enough for every value and
goal already recorded on it (from 0, or lower if a value was lower, to the highest value,
or 100 when nothing is recorded), so no existing value falls outside; the hub coordinator
can narrow it on the outcome measures page.
"""

from decimal import Decimal

from django.db import migrations
from django.db.models import Max, Min

# slug: (lowest, highest, UCUM code)
KNOWN = {
    "pain-score": ("0", "10", "{score}"),
    "phq-9": ("0", "27", "{score}"),
    "gad-7": ("0", "21", "{score}"),
    "hba1c": ("20", "200", "mmol/mol"),
    "weight": ("2", "400", "kg"),
    "systolic-blood-pressure": ("50", "300", "mm[Hg]"),
    "walking-distance": ("0", "20000", "m"),
}


def fill(apps, schema_editor):
    OutcomeMeasure = apps.get_model("arcs", "OutcomeMeasure")
    Measurement = apps.get_model("arcs", "Measurement")
    Goal = apps.get_model("arcs", "Goal")
    for measure in OutcomeMeasure.objects.all():
        if measure.slug in KNOWN:
            low, high, ucum = KNOWN[measure.slug]
            measure.min_value, measure.max_value = Decimal(low), Decimal(high)
            measure.ucum_code = measure.ucum_code or ucum
        else:
            seen = [
                v
                for v in (
                    *Measurement.objects.filter(measure=measure)
                    .aggregate(low=Min("value"), high=Max("value"))
                    .values(),
                    *Goal.objects.filter(measure=measure)
                    .aggregate(
                        a=Min("baseline"), b=Max("baseline"), c=Min("target"), d=Max("target")
                    )
                    .values(),
                )
                if v is not None
            ]
            measure.min_value = min([Decimal(0), *seen])
            measure.max_value = max(seen) if seen else Decimal(100)
            if measure.max_value <= measure.min_value:
                measure.max_value = measure.min_value + 1
        measure.save(update_fields=["min_value", "max_value", "ucum_code"])


class Migration(migrations.Migration):
    dependencies = [("arcs", "0007_measure_ranges_corrections_reviews")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
