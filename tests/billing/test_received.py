"""Invoice.received is kept by the database: every payment and credit note adds its
amount and every refund takes its amount off, however the row is inserted, and nobody
writes the column directly (billing migration 0009). The aging report reads balances
from it."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction

from billing import selectors, services
from billing.models import Invoice, PaymentMethod
from tests.billing.helpers import RUN_DAY, contract_invoice, member_invoice
from tests.concurrency import at_once

pytestmark = pytest.mark.django_db


def received(invoice: Invoice) -> Decimal:
    return Invoice.objects.values_list("received", flat=True).get(pk=invoice.pk)


def summed(invoice: Invoice) -> Decimal:
    """What the payments, credit notes and refunds rows add up to (``with_amounts``)."""
    fresh = selectors.with_amounts(Invoice.objects.filter(pk=invoice.pk)).get()
    return fresh.paid + fresh.credited - fresh.refunded


def test_payments_credit_notes_and_refunds_move_received_as_they_are_recorded():
    invoice = contract_invoice()  # 100.00
    assert received(invoice) == 0
    payment = services.payment_record(
        invoice=invoice, amount=Decimal("60.00"), paid_on=RUN_DAY, method=PaymentMethod.CASH
    )
    assert received(invoice) == Decimal("60.00")
    services.credit_note_issue(invoice=invoice, amount=Decimal("50.00"), reason="Left early")
    assert received(invoice) == Decimal("110.00")
    services.refund_record(
        invoice=invoice,
        amount=Decimal("10.00"),
        refunded_on=RUN_DAY,
        method=PaymentMethod.CASH,
        reason="Credit paid back",
        payment=payment,
    )
    assert received(invoice) == Decimal("100.00") == summed(invoice)


def test_a_payment_inserted_by_raw_sql_still_counts():
    invoice = member_invoice()  # 20.00
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO billing_payment (invoice_id, amount, currency, paid_on, method,"
            " reference, created_at) VALUES (%s, %s, %s, %s, %s, '', now())",
            [invoice.pk, Decimal("7.50"), invoice.currency, RUN_DAY, PaymentMethod.CASH],
        )
    assert received(invoice) == Decimal("7.50") == summed(invoice)
    report = selectors.aging_report(on=invoice.due_date + datetime.timedelta(days=1))
    (row,) = report.rows(report.payers)
    assert row["total"] == Decimal("12.50")


def test_nobody_writes_received_directly():
    invoice = contract_invoice()
    services.payment_record(
        invoice=invoice, amount=Decimal("40.00"), paid_on=RUN_DAY, method=PaymentMethod.CASH
    )
    with (
        pytest.raises(DatabaseError, match="received is kept by the database"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE billing_invoice SET received = 0 WHERE id = %s", [invoice.pk])
    with pytest.raises(ValidationError):
        invoice.received = Decimal(0)
        invoice.save(update_fields=["received"])
    assert received(invoice) == Decimal("40.00")
    # The workflow columns still move, and leave received alone.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE billing_invoice SET status = 'overdue' WHERE id = %s", [invoice.pk])
    assert received(invoice) == Decimal("40.00")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_payments_at_once_both_count():
    """Each insert's trigger updates the invoice row, so concurrent receipts queue on its
    lock rather than overwrite each other's sum."""
    invoice = contract_invoice()

    def pay() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO billing_payment (invoice_id, amount, currency, paid_on,"
                " method, reference, created_at) VALUES (%s, 10, %s, %s, 'cash', '', now())",
                [invoice.pk, invoice.currency, RUN_DAY],
            )

    errors = [o for o in at_once(pay, pay) if isinstance(o, BaseException)]
    assert not errors
    assert received(invoice) == Decimal("20.00") == summed(invoice)
