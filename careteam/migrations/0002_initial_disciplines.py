from django.db import migrations

# The disciplines a clinic starts with; it adds its own on the care-team pages.
DISCIPLINES = [
    ("primary-care-medicine", "Primary care medicine"),
    ("physical-therapy", "Physical therapy"),
    ("acupuncture", "Acupuncture"),
    ("chiropractic", "Chiropractic"),
    ("nutrition", "Nutrition"),
    ("behavioural-health", "Behavioural health"),
    ("nursing", "Nursing"),
]


def create_disciplines(apps, schema_editor):
    Discipline = apps.get_model("careteam", "Discipline")
    for slug, name in DISCIPLINES:
        Discipline.objects.get_or_create(slug=slug, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("careteam", "0001_initial")]

    operations = [migrations.RunPython(create_disciplines, migrations.RunPython.noop)]
