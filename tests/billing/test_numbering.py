"""Invoice numbers follow issue dates, without gaps, in each series (issue 9)."""

import datetime
from decimal import Decimal

import pytest
from django.conf import settings

from billing import services
from billing.models import CreditNote, Invoice
from tests.billing.factories import EnrolmentFactory, FeePlanAssignmentFactory

pytestmark = pytest.mark.django_db

D = datetime.date


def assert_numbers_follow_issue_dates(model, prefix: str = "") -> None:
    rows = sorted(model.objects.values_list("number", "issue_date"))
    for year in {issued.year for _number, issued in rows}:
        in_series = [(n, d) for n, d in rows if n.startswith(f"{prefix}{year}-")]
        numbers = [int(n.rsplit("-", 1)[1]) for n, _d in in_series]
        assert numbers == list(range(1, len(numbers) + 1)), in_series
        dates = [d for _n, d in in_series]
        assert dates == sorted(dates), in_series


def test_one_run_numbers_its_invoices_in_issue_date_order():
    # Invoiced on the 28th and on the 1st of April: the contract created first is dated later.
    late = EnrolmentFactory(contract__billing_day=28)
    early = EnrolmentFactory(contract__billing_day=1)
    services.invoice_run(period=D(2026, 3, 1), today=D(2026, 4, 1), include_members=False)
    by_contract = {i.contract_id: i for i in Invoice.objects.all()}
    assert by_contract[early.contract_id].number == "2026-000001"
    assert by_contract[late.contract_id].number == "2026-000002"
    assert_numbers_follow_issue_dates(Invoice)


def test_an_invoice_issued_after_a_later_dated_one_is_not_dated_before_it():
    # An anchor invoice dated on its billing day, the 28th, issued on the 1st ...
    EnrolmentFactory(contract__billing_day=28)
    services.invoice_run(period=D(2026, 3, 1), today=D(2026, 4, 1), include_members=False)
    # ... then the members' fees, run on the 2nd: the next number cannot carry the 2nd.
    assignment = FeePlanAssignmentFactory(plan__amount=Decimal("20.00"))
    services.invoice_run(period=D(2026, 3, 1), today=D(2026, 4, 2), contract_ids=[])
    fee = Invoice.objects.get(member=assignment.member)
    assert (fee.number, fee.issue_date) == ("2026-000002", D(2026, 4, 28))
    # Payment terms run from the date on the invoice.
    terms = datetime.timedelta(days=settings.CLINIC_MEMBER_PAYMENT_TERMS_DAYS)
    assert fee.due_date == D(2026, 4, 28) + terms
    assert_numbers_follow_issue_dates(Invoice)


def test_a_run_for_an_earlier_period_after_a_later_one_keeps_the_order():
    enrolment = EnrolmentFactory()
    services.invoice_run(period=D(2026, 4, 1), today=D(2026, 5, 1), include_members=False)
    # The March run was forgotten and is run with an earlier date (a scheduled job's date).
    services.invoice_run(period=D(2026, 3, 1), today=D(2026, 4, 1), include_members=False)
    march = Invoice.objects.get(contract=enrolment.contract, period=D(2026, 3, 1))
    assert (march.number, march.issue_date) == ("2026-000002", D(2026, 5, 1))
    assert_numbers_follow_issue_dates(Invoice)


def test_credit_notes_are_numbered_in_date_order_too():
    EnrolmentFactory()
    services.invoice_run(period=D(2026, 3, 1), today=D(2026, 4, 1), include_members=False)
    invoice = Invoice.objects.get()
    services.credit_note_issue(invoice=invoice, amount=Decimal(1), reason="a", today=D(2026, 5, 3))
    later = services.credit_note_issue(
        invoice=invoice, amount=Decimal(1), reason="b", today=D(2026, 5, 2)
    )
    assert (later.number, later.issue_date) == ("CN-2026-000002", D(2026, 5, 3))
    assert_numbers_follow_issue_dates(CreditNote, prefix="CN-")
