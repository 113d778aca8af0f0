from django.db import migrations
from django.db.models import Max


def create_sequence_row(apps, schema_editor):
    """The single row member numbers are drawn from, starting after any number already given."""
    Member = apps.get_model("members", "Member")
    MemberNumberSequence = apps.get_model("members", "MemberNumberSequence")
    last = Member.objects.aggregate(last=Max("number"))["last"] or 0
    MemberNumberSequence.objects.get_or_create(pk=1, defaults={"last_number": last})


class Migration(migrations.Migration):
    dependencies = [("members", "0003_status_history_applications_certificates")]

    operations = [migrations.RunPython(create_sequence_row, migrations.RunPython.noop)]
