from django.db import migrations


def encrypt_stored_secrets(apps, schema_editor):
    """Secrets enrolled before encryption was turned on are encrypted in place."""
    from clinic.adapters import ClinicMFAAdapter

    adapter = ClinicMFAAdapter()
    Authenticator = apps.get_model("mfa", "Authenticator")
    for authenticator in Authenticator.objects.filter(type__in=["totp", "recovery_codes"]):
        field = "secret" if authenticator.type == "totp" else "seed"
        value = authenticator.data.get(field)
        if value and not value.startswith(ClinicMFAAdapter.PREFIX):
            authenticator.data[field] = adapter.encrypt(value)
            authenticator.save(update_fields=["data"])


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0003_user_session_generation"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(encrypt_stored_secrets, migrations.RunPython.noop)]
