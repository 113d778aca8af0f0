"""Billing migration 0009 fills Invoice.received for a clinic upgrading with receipts
already recorded, and its triggers count what is recorded after it."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from billing import services
from billing.models import Invoice, PaymentMethod
from tests.billing.helpers import RUN_DAY, corrected_invoice, member_invoice

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BEFORE = [("billing", "0008_invoice_run_preview_and_progress")]
AFTER = [("billing", "0009_invoice_received")]


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def test_upgrading_fills_received_from_the_receipts_already_recorded():
    invoice, _payment, _note, _refund = corrected_invoice()
    untouched = member_invoice()
    try:
        migrate(BEFORE)  # the column and its triggers are gone
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM information_schema.columns"
                " WHERE table_name = 'billing_invoice' AND column_name = 'received'"
            )
            assert cursor.fetchone()[0] == 0
        migrate(AFTER)
    finally:
        migrate(AFTER)
    received = dict(Invoice.objects.values_list("pk", "received"))
    assert received == {invoice.pk: Decimal("100.00"), untouched.pk: Decimal("0")}
    services.payment_record(
        invoice=untouched, amount=Decimal("5.00"), paid_on=RUN_DAY, method=PaymentMethod.CASH
    )
    assert Invoice.objects.get(pk=untouched.pk).received == Decimal("5.00")
