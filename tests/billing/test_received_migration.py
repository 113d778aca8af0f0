"""Billing migration 0009 fills Invoice.received for a clinic upgrading with receipts
already recorded, and its triggers count what is recorded after it."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from billing import services
from billing.models import Invoice, PaymentMethod
from tests.billing.helpers import RUN_DAY, contract_invoice, member_invoice

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BEFORE = [("billing", "0008_invoice_run_preview_and_progress")]
AFTER = [("billing", "0009_invoice_received")]


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def test_upgrading_fills_received_from_the_receipts_already_recorded():
    invoice, untouched = contract_invoice(), member_invoice()
    payment = services.payment_record(
        invoice=invoice, amount=Decimal("100.00"), paid_on=RUN_DAY, method=PaymentMethod.CASH
    )
    services.credit_note_issue(invoice=invoice, amount=Decimal("30.00"), reason="Left early")
    services.refund_record(
        invoice=invoice,
        amount=Decimal("30.00"),
        refunded_on=RUN_DAY,
        method=PaymentMethod.CASH,
        reason="Credit paid back",
        payment=payment,
    )
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
