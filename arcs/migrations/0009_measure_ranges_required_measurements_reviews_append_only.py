"""Every outcome measure has its range (filled by 0008); measurements and reviews are
append-only in PostgreSQL.

A measurement entered in error is corrected or struck out by a new row that points at it
(``Measurement.corrects``), and a review is what was decided on a day: neither has a
workflow column, so UPDATE, DELETE and TRUNCATE are refused (``clinic.appendonly``, as in
arcs 0005).
"""

from django.db import migrations, models

from clinic.appendonly import REFUSE_CHANGE, create_triggers, drop_triggers

TABLES = ["arcs_measurement", "arcs_arcreview"]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(REFUSE_CHANGE, params=None)
    for table in TABLES:
        schema_editor.execute(create_triggers(table), params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(drop_triggers(table))


class Migration(migrations.Migration):
    dependencies = [("arcs", "0008_outcome_measure_ranges_and_ucum_codes")]

    operations = [
        migrations.AlterField(
            model_name="outcomemeasure",
            name="max_value",
            field=models.DecimalField(
                decimal_places=2, max_digits=10, verbose_name="highest valid value"
            ),
        ),
        migrations.AlterField(
            model_name="outcomemeasure",
            name="min_value",
            field=models.DecimalField(
                decimal_places=2, max_digits=10, verbose_name="lowest valid value"
            ),
        ),
        migrations.RunPython(create, drop),
    ]
