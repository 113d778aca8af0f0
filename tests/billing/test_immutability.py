"""Issued documents and the billing ledger cannot change below the ORM (issue 9).

Each statement is raw SQL on PostgreSQL, as another client or a careless script would send
it; the ORM guard that SQLite relies on is tested at the end.
"""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from psycopg import sql

from billing import services
from billing.models import (
    BillingEvent,
    CreditNote,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    Refund,
)
from tests.billing.helpers import contract_invoice, corrected_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger() -> dict[str, int]:
    """A paid invoice, corrected by a credit note whose amount was refunded: one row in
    every billing table that is written once."""
    invoice, payment, note, refund = corrected_invoice()
    return {
        "billing_invoice": invoice.pk,
        "billing_invoiceline": invoice.lines.get().pk,
        "billing_payment": payment.pk,
        "billing_creditnote": note.pk,
        "billing_refund": refund.pk,
        "billing_billingevent": BillingEvent.objects.filter(invoice=invoice).first().pk,
    }


def run(statement: str, params=None, **names: str) -> None:
    """Execute raw SQL; ``names`` are table and column names, quoted as identifiers."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(compose(statement, **names), params)


def fetch(statement: str, params=None, **names: str):
    with connection.cursor() as cursor:
        cursor.execute(compose(statement, **names), params)
        return cursor.fetchone()[0]


def compose(statement: str, **names: str) -> sql.Composed:
    return sql.SQL(statement).format(**{k: sql.Identifier(v) for k, v in names.items()})


# A column of each table that no workflow may change once the row is written.
FROZEN = {
    "billing_invoice": ("total", "1.00"),
    "billing_invoiceline": ("amount", "1.00"),
    "billing_payment": ("amount", "1.00"),
    "billing_creditnote": ("amount", "1.00"),
    "billing_refund": ("amount", "1.00"),
    "billing_billingevent": ("detail", "rewritten"),
}


@pytest.mark.parametrize("table", sorted(FROZEN))
def test_the_database_refuses_to_change_an_issued_row(ledger, table):
    column, value = FROZEN[table]
    assert connection.vendor == "postgresql"
    with pytest.raises(DatabaseError, match=f"{table} is immutable once issued"):
        run(
            "UPDATE {table} SET {column} = %s WHERE id = %s",
            [value, ledger[table]],
            table=table,
            column=column,
        )
    stored = fetch(
        "SELECT {column}::text FROM {table} WHERE id = %s",
        [ledger[table]],
        table=table,
        column=column,
    )
    assert stored != value


@pytest.mark.parametrize("table", sorted(FROZEN))
def test_the_database_refuses_to_delete_an_issued_row(ledger, table):
    with pytest.raises(DatabaseError, match=f"DELETE on {table} refused"):
        run("DELETE FROM {table} WHERE id = %s", [ledger[table]], table=table)
    assert fetch("SELECT count(*) FROM {table} WHERE id = %s", [ledger[table]], table=table) == 1


@pytest.mark.parametrize("table", sorted(FROZEN))
def test_the_database_refuses_to_truncate_an_issued_table(ledger, table):
    # The test's rows are not committed: check their deferred foreign keys now, as a
    # commit would, so TRUNCATE is not refused for pending checks instead.
    run("SET CONSTRAINTS ALL IMMEDIATE")
    # CASCADE, as a flush would: every table it reaches refuses, so none is emptied.
    with pytest.raises(DatabaseError, match=r"TRUNCATE on billing_\w+ refused"):
        run("TRUNCATE {table} CASCADE", table=table)
    assert fetch("SELECT count(*) FROM {table}", table=table) >= 1


def test_the_workflow_columns_named_in_the_trigger_still_update(ledger):
    # The status (payments, credit notes, the overdue job) and the stored PDFs.
    run(
        "UPDATE billing_invoice SET status = %s, pdf = %s WHERE id = %s",
        [InvoiceStatus.OVERDUE, "billing/invoices/x.pdf", ledger["billing_invoice"]],
    )
    run(
        "UPDATE billing_creditnote SET pdf = %s WHERE id = %s",
        ["billing/credit-notes/x.pdf", ledger["billing_creditnote"]],
    )
    invoice = Invoice.objects.get(pk=ledger["billing_invoice"])
    assert (invoice.status, invoice.pdf.name) == ("overdue", "billing/invoices/x.pdf")
    assert CreditNote.objects.get(pk=ledger["billing_creditnote"]).pdf.name.endswith("x.pdf")
    # ... but a workflow column does not carry a frozen one with it.
    with pytest.raises(DatabaseError, match=r"only status, pdf(, received)? may change"):
        run(
            "UPDATE billing_invoice SET status = 'paid', due_date = %s WHERE id = %s",
            [datetime.date(2030, 1, 1), ledger["billing_invoice"]],
        )


def test_rendering_an_invoice_pdf_and_moving_its_status_pass_the_trigger():
    invoice = contract_invoice()
    services.invoice_render_pdf(invoice_id=invoice.pk)
    services.invoices_mark_overdue_and_remind(today=datetime.date(2026, 6, 1))
    invoice.refresh_from_db()
    assert invoice.pdf and invoice.status == InvoiceStatus.OVERDUE


def test_the_orm_refuses_the_same_where_there_are_no_triggers(ledger):
    """SQLite (the embedded demo) has only this guard."""
    for model, table in (
        (Invoice, "billing_invoice"),
        (InvoiceLine, "billing_invoiceline"),
        (Payment, "billing_payment"),
        (CreditNote, "billing_creditnote"),
        (Refund, "billing_refund"),
        (BillingEvent, "billing_billingevent"),
    ):
        rows = model.objects.filter(pk=ledger[table])
        column = FROZEN[table][0]
        with pytest.raises(ValidationError, match="cannot be changed"):
            rows.update(**{column: FROZEN[table][1]})
        with pytest.raises(ValidationError, match="cannot be deleted"):
            rows.delete()
        row = rows.get()
        with pytest.raises(ValidationError, match="cannot be changed"):
            row.save()
        with pytest.raises(ValidationError, match="cannot be deleted"):
            row.delete()
    # The workflow's own writes are allowed.
    Invoice.objects.filter(pk=ledger["billing_invoice"]).update(status=InvoiceStatus.OVERDUE)
    CreditNote.objects.filter(pk=ledger["billing_creditnote"]).update(pdf="x.pdf")
