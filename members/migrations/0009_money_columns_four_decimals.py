"""Money columns keep four decimals, so that every currency fits (3 for KWD, 4 for CLF).

PostgreSQL refuses to change the type of a column named in a trigger's ``UPDATE OF`` list,
so the fee-plan price trigger (0007) is dropped and created again around the change. The
row and TRUNCATE triggers of the ledger do not name columns and do not fire on ALTER.
"""

import django.core.validators
from decimal import Decimal
from django.db import migrations, models


PRICE_TRIGGER = """
CREATE TRIGGER members_fee_plan_price_fixed_once_assigned
    BEFORE UPDATE OF amount, period, currency ON members_feeplan
    FOR EACH ROW EXECUTE FUNCTION members_fee_plan_price_fixed();
"""
DROP_PRICE_TRIGGER = (
    "DROP TRIGGER IF EXISTS members_fee_plan_price_fixed_once_assigned ON members_feeplan;"
)


def drop_price_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_PRICE_TRIGGER)


def create_price_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PRICE_TRIGGER)


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0008_member_email_delivery"),
    ]

    operations = [
        migrations.RunPython(drop_price_trigger, create_price_trigger),
        migrations.AlterField(
            model_name="feeplan",
            name="amount",
            field=models.DecimalField(
                decimal_places=4,
                max_digits=15,
                validators=[django.core.validators.MinValueValidator(Decimal("0"))],
                verbose_name="amount",
            ),
        ),
        migrations.AlterField(
            model_name="shareclass",
            name="par_value",
            field=models.DecimalField(
                decimal_places=4,
                max_digits=15,
                validators=[django.core.validators.MinValueValidator(Decimal("0"))],
                verbose_name="par value",
            ),
        ),
        migrations.AlterField(
            model_name="shareledgerentry",
            name="amount",
            field=models.DecimalField(
                decimal_places=4, default=Decimal("0"), max_digits=15, verbose_name="amount"
            ),
        ),
        migrations.RunPython(create_price_trigger, drop_price_trigger),
    ]
