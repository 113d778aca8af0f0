"""Meetings get an end time; meetings already scheduled keep the two hours they had."""

import datetime

import django.db.models.expressions
from django.db import migrations, models

ASSUMED_LENGTH = datetime.timedelta(hours=2)


def end_existing_meetings(apps, schema_editor) -> None:
    Meeting = apps.get_model("governance", "Meeting")
    Meeting.objects.filter(ends_at__isnull=True).update(
        ends_at=models.F("starts_at") + ASSUMED_LENGTH
    )


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0001_meetings_ballots_board"),
    ]

    operations = [
        migrations.AddField(
            model_name="meeting",
            name="ends_at",
            field=models.DateTimeField(null=True, verbose_name="ends at"),
        ),
        migrations.RunPython(end_existing_meetings, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="meeting",
            name="ends_at",
            field=models.DateTimeField(verbose_name="ends at"),
        ),
        migrations.AddConstraint(
            model_name="meeting",
            constraint=models.CheckConstraint(
                condition=models.Q(("ends_at__gt", django.db.models.expressions.F("starts_at"))),
                name="meeting_ends_after_it_starts",
            ),
        ),
    ]
