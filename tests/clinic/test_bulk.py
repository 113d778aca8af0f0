"""clinic.bulk.insert_rows stores plain rows as the model would, in one statement."""

import datetime
from decimal import Decimal

import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext

from billing.models import BillingEvent, Invoice, InvoiceStatus
from clinic import bulk
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db

INVOICE = ("number", "member_id", "period", "issue_date", "due_date", "currency", "total")


def _invoice_row(member_id: int, number: str, total: str = "12.50") -> tuple:
    day = datetime.date(2026, 3, 1)
    return (number, member_id, day, day, day, "EUR", Decimal(total))


def test_primary_keys_come_back_in_the_order_of_the_rows():
    rows = [("run", f"row {n}") for n in range(500)]
    with CaptureQueriesContext(connection) as queries:
        pks = bulk.insert_rows(BillingEvent, ("action", "detail"), rows)
    assert len(queries) == 1
    details = dict(BillingEvent.objects.filter(pk__in=pks).values_list("pk", "detail"))
    assert [details[pk] for pk in pks] == [detail for _action, detail in rows]


def test_columns_not_given_get_the_models_defaults_and_dates():
    member = MemberFactory()
    before = datetime.datetime.now(datetime.UTC)
    (pk,) = bulk.insert_rows(Invoice, INVOICE, [_invoice_row(member.pk, "2026-000001")])
    invoice = Invoice.objects.get(pk=pk)
    assert (invoice.status, invoice.pdf.name, invoice.contract_id) == (
        InvoiceStatus.ISSUED,
        "",
        None,
    )
    assert (invoice.bill_to_address, invoice.bill_to_tax_id) == ("", "")
    assert invoice.created_at >= before
    assert invoice.total == Decimal("12.50")


def test_a_value_too_long_for_its_column_is_refused_not_cut_short():
    member = MemberFactory()
    too_long = "9" * 40  # the number column holds 32
    with pytest.raises(DataError), transaction.atomic():
        bulk.insert_rows(Invoice, INVOICE, [_invoice_row(member.pk, too_long)])
    assert not Invoice.objects.exists()


def test_the_constraints_still_apply():
    from django.db import IntegrityError

    member = MemberFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        # A negative total is refused by invoice_total_not_negative.
        bulk.insert_rows(Invoice, INVOICE, [_invoice_row(member.pk, "2026-000001", "-1")])
    assert not Invoice.objects.exists()


def test_other_databases_get_the_same_rows_through_bulk_create():
    member = MemberFactory()
    day = datetime.date(2026, 3, 1)
    (pk,) = bulk._insert_models(
        Invoice,
        [*INVOICE, "bill_to_name", "status"],
        [(*_invoice_row(member.pk, "2026-000002"), "Ada")],
        [InvoiceStatus.ISSUED],
    )
    invoice = Invoice.objects.get(pk=pk)
    assert (invoice.number, invoice.period, invoice.bill_to_name) == ("2026-000002", day, "Ada")


def test_no_rows_no_query():
    with CaptureQueriesContext(connection) as queries:
        assert bulk.insert_rows(BillingEvent, ("action",), []) == []
    assert len(queries) == 0
