from django.db import migrations
from django.db.models import Max


def supersede_earlier(apps, schema_editor):
    """Before this, every certificate of a member's earlier holdings stayed as it was; the
    latest of each member and share class is the one in force, the others are superseded
    by it (dated the day the later one was issued)."""
    ShareCertificate = apps.get_model("members", "ShareCertificate")
    latest = (
        ShareCertificate.objects.order_by()
        .values("member_id", "share_class_id")
        .annotate(last=Max("pk"))
    )
    for row in latest:
        current = ShareCertificate.objects.get(pk=row["last"])
        earlier = ShareCertificate.objects.filter(
            member_id=row["member_id"], share_class_id=row["share_class_id"], pk__lt=current.pk
        ).order_by("pk")
        ids = list(earlier.values_list("pk", flat=True))
        for pk, successor in zip(ids, ids[1:] + [current.pk], strict=True):
            ShareCertificate.objects.filter(pk=pk).update(
                superseded_by_id=successor, superseded_on=current.issued_on
            )


class Migration(migrations.Migration):
    dependencies = [("members", "0011_share_certificate_versions")]

    operations = [migrations.RunPython(supersede_earlier, migrations.RunPython.noop)]
