from django.db import migrations
from django.db.models import F


def mark_emailed_as_sent(apps, schema_editor):
    # Notifications emailed before the delivery protocol must never be sent again.
    Notification = apps.get_model("careteam", "Notification")
    Notification.objects.filter(emailed_at__isnull=False).update(
        status="sent", sent_at=F("emailed_at"), attempts=1
    )


class Migration(migrations.Migration):
    dependencies = [
        ("careteam", "0004_notification_email_delivery_consultation_closed_unanswered"),
    ]

    operations = [migrations.RunPython(mark_emailed_as_sent, migrations.RunPython.noop)]
