from django.db import migrations

# The outcome measures a clinic starts with; it defines its own on the arcs pages.
# (slug, name, unit, direction of improvement, LOINC code)
MEASURES = [
    ("pain-score", "Pain score", "0-10", "lower", "72514-3"),
    ("phq-9", "PHQ-9", "score", "lower", "44261-6"),
    ("gad-7", "GAD-7", "score", "lower", "70274-6"),
    ("hba1c", "HbA1c", "mmol/mol", "lower", "59261-8"),
    ("weight", "Weight", "kg", "lower", "29463-7"),
    ("systolic-blood-pressure", "Blood pressure (systolic)", "mmHg", "lower", "8480-6"),
    ("walking-distance", "Walking distance", "m", "higher", "41953-1"),
]


def create_measures(apps, schema_editor):
    OutcomeMeasure = apps.get_model("arcs", "OutcomeMeasure")
    for slug, name, unit, direction, loinc in MEASURES:
        OutcomeMeasure.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "unit": unit, "direction": direction, "loinc_code": loinc},
        )


class Migration(migrations.Migration):
    dependencies = [("arcs", "0001_arcs_goals_measures_notes_versions_access_log")]

    operations = [migrations.RunPython(create_measures, migrations.RunPython.noop)]
