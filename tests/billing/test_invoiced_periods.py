"""Prices and periods already invoiced do not change: backdating is refused, contracts end
every cover, no day is billed to nobody, and two currencies hold an invoice."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing import selectors, services
from billing.models import BillingEvent, ContractStatus, CoverEnrolment, Invoice, InvoiceLine
from billing.tasks import run_monthly_invoicing
from members import services as members
from tests.billing.factories import (
    ContractFactory,
    EnrolmentFactory,
    FeePlanAssignmentFactory,
    FeePlanFactory,
)
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db

D = datetime.date
MARCH = D(2026, 3, 1)
APRIL = D(2026, 4, 1)
RUN_DAY = D(2026, 4, 1)


def run(period=MARCH, today=RUN_DAY, **kwargs):
    return services.invoice_run(period=period, today=today, **kwargs)


# --- Backdating into an invoiced period is refused ------------------------------------------


def test_cover_starting_inside_the_members_invoiced_fee_period_is_refused():
    assignment = FeePlanAssignmentFactory()
    run()
    contract = ContractFactory()
    with pytest.raises(ValidationError, match="March 2026") as refused:
        services.enrolment_add(
            contract=contract, member=assignment.member, covered_from=D(2026, 3, 15)
        )
    assert Invoice.objects.get(member=assignment.member).number in str(refused.value)
    assert not CoverEnrolment.objects.filter(member=assignment.member).exists()
    # From the first day not yet invoiced it is accepted.
    services.enrolment_add(contract=contract, member=assignment.member, covered_from=APRIL)


def test_cover_starting_inside_the_contracts_invoiced_month_is_refused():
    contract = EnrolmentFactory().contract
    run()
    newcomer = MemberFactory()
    with pytest.raises(ValidationError, match="March 2026"):
        services.enrolment_add(contract=contract, member=newcomer, covered_from=D(2026, 3, 20))


def test_fee_plan_backdated_into_an_invoiced_period_is_refused():
    assignment = FeePlanAssignmentFactory(plan__amount=Decimal("10.00"))
    run()
    dearer = FeePlanFactory(amount=Decimal("120.00"))
    with pytest.raises(ValidationError, match="March 2026"):
        members.fee_plan_assign(member=assignment.member, plan=dearer, valid_from=D(2026, 3, 15))
    members.fee_plan_assign(member=assignment.member, plan=dearer, valid_from=APRIL)


def test_first_fee_plan_backdated_into_a_month_already_run_is_refused():
    FeePlanAssignmentFactory()
    run()
    newcomer = MemberFactory()
    with pytest.raises(ValidationError, match="already invoiced"):
        members.fee_plan_assign(member=newcomer, plan=FeePlanFactory(), valid_from=MARCH)


def test_ending_cover_or_plan_inside_an_invoiced_period_is_refused():
    enrolment = EnrolmentFactory()
    assignment = FeePlanAssignmentFactory()
    run()
    with pytest.raises(ValidationError, match="March 2026"):
        services.enrolment_end(enrolment=enrolment, covered_to=D(2026, 3, 20))
    with pytest.raises(ValidationError, match="March 2026"):
        members.fee_plan_end(member=assignment.member, valid_to=D(2026, 3, 20))
    # Ending on the last invoiced day makes no issued invoice wrong.
    services.enrolment_end(enrolment=enrolment, covered_to=D(2026, 3, 31))
    members.fee_plan_end(member=assignment.member, valid_to=D(2026, 3, 31))


# --- Ending a contract ----------------------------------------------------------------------


def test_ending_a_contract_removes_cover_that_would_start_after_its_end():
    contract = ContractFactory()
    current = EnrolmentFactory(contract=contract)
    future = EnrolmentFactory(contract=contract, covered_from=D(2026, 6, 1))
    FeePlanAssignmentFactory(member=future.member, plan__amount=Decimal("30.00"))
    services.contract_transition(
        contract=contract, to=ContractStatus.ENDED, end_date=D(2026, 4, 30)
    )
    current.refresh_from_db()
    assert current.covered_to == D(2026, 4, 30)
    assert not CoverEnrolment.objects.filter(pk=future.pk).exists()
    assert BillingEvent.objects.filter(action="cover_removed", contract=contract).exists()
    # June is billed to the member's fee plan, not to nobody.
    run(period=D(2026, 6, 1), today=D(2026, 7, 1))
    assert Invoice.objects.get(member=future.member).total == Decimal("30.00")
    assert not Invoice.objects.filter(contract=contract, period=D(2026, 6, 1)).exists()


def test_a_contract_cannot_end_inside_a_period_it_was_invoiced_for():
    enrolment = EnrolmentFactory()
    run()
    with pytest.raises(ValidationError, match="March 2026"):
        services.contract_transition(
            contract=enrolment.contract, to=ContractStatus.ENDED, end_date=D(2026, 3, 15)
        )
    enrolment.refresh_from_db()
    assert enrolment.covered_to is None


def test_cover_days_outside_the_contracts_dates_are_billed_to_the_members_plan():
    member = MemberFactory()
    FeePlanAssignmentFactory(member=member, plan__amount=Decimal("31.00"))
    contract = ContractFactory(start_date=D(2026, 3, 16), rate_per_member_month=Decimal("31.00"))
    # A cover row reaching before its contract (written around the service).
    EnrolmentFactory(contract=contract, member=member, covered_from=MARCH)
    run()
    fee = Invoice.objects.get(member=member).lines.get()
    anchor = Invoice.objects.get(contract=contract).lines.get()
    assert (fee.start, fee.end) == (MARCH, D(2026, 3, 15))
    assert (anchor.start, anchor.end) == (D(2026, 3, 16), D(2026, 3, 31))


def test_a_draft_contracts_cover_does_not_stop_the_fee():
    member = MemberFactory()
    FeePlanAssignmentFactory(member=member, plan__amount=Decimal("31.00"))
    EnrolmentFactory(member=member, contract__status=ContractStatus.DRAFT)
    run()
    assert Invoice.objects.get(member=member).total == Decimal("31.00")


# --- Two currencies -------------------------------------------------------------------------


def test_a_member_with_plans_in_two_currencies_is_held_and_the_problem_shown(client):
    member = MemberFactory()
    FeePlanAssignmentFactory(member=member, plan__currency="EUR", valid_to=D(2026, 3, 15))
    FeePlanAssignmentFactory(member=member, plan__currency="USD", valid_from=D(2026, 3, 16))
    other = FeePlanAssignmentFactory()
    preview = selectors.invoice_run_preview(period=MARCH, today=RUN_DAY)
    assert [d.member_id for d in preview.drafts] == [other.member_id]
    assert any(member.full_name in p and "held" in p for p in preview.problems)
    result = run()
    assert any(member.full_name in p for p in result.problems)
    assert not Invoice.objects.filter(member=member).exists()
    assert not InvoiceLine.objects.filter(member=member).exists()
    assert BillingEvent.objects.filter(action="invoice_held", detail__contains="USD").exists()


def test_the_scheduled_runs_report_lists_held_invoices():
    member = MemberFactory()
    FeePlanAssignmentFactory(member=member, plan__currency="EUR", valid_to=D(2026, 3, 15))
    FeePlanAssignmentFactory(member=member, plan__currency="USD", valid_from=D(2026, 3, 16))
    report = run_monthly_invoicing.delay("2026-03-01").get()
    assert report["issued"] == 0
    assert len(report["held"]) == 1 and member.full_name in report["held"][0]


def test_the_run_preview_page_shows_held_invoices(client, django_capture_on_commit_callbacks):
    from django.urls import reverse

    from clinic.roles import Role
    from tests.factories import user_with_role

    member = MemberFactory()
    FeePlanAssignmentFactory(member=member, plan__currency="EUR", valid_to=D(2026, 3, 15))
    FeePlanAssignmentFactory(member=member, plan__currency="USD", valid_from=D(2026, 3, 16))
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("billing:run_invoicing"), {"period": "2026-03", "include_members": "on"}
        )
    page = client.get(response.url).content.decode()
    assert "fee plans in two currencies" in page
    assert "their invoice is held" in page
    assert "0 invoices to issue" in page


# --- Decisions taken on a stale copy ----------------------------------------------------------


def test_editing_a_contract_read_as_draft_is_refused_once_it_was_activated():
    draft = ContractFactory(status=ContractStatus.DRAFT)
    stale = type(draft).objects.get(pk=draft.pk)
    services.contract_transition(contract=draft, to=ContractStatus.ACTIVE)
    stale.rate_per_member_month = Decimal("1.00")
    with pytest.raises(ValidationError, match="Only a draft"):
        services.contract_save(contract=stale)
    draft.refresh_from_db()
    assert (draft.status, draft.rate_per_member_month) == (ContractStatus.ACTIVE, Decimal("30.00"))


def test_cover_cannot_be_added_through_a_stale_copy_of_a_contract_that_has_ended():
    contract = ContractFactory()
    stale = type(contract).objects.get(pk=contract.pk)
    services.contract_transition(
        contract=contract, to=ContractStatus.ENDED, end_date=D(2026, 4, 30)
    )
    with pytest.raises(ValidationError, match="ended"):
        services.enrolment_add(contract=stale, member=MemberFactory(), covered_from=D(2026, 6, 1))


def test_the_roster_preview_names_rows_that_start_in_an_invoiced_month():
    contract = EnrolmentFactory().contract
    run()
    newcomer = MemberFactory()
    rows, errors = services.roster_parse(
        contract=contract, text=f"member_number,covered_from\n{newcomer.number},2026-03-20\n"
    )
    assert rows == []
    assert errors and errors[0].startswith("Row 2") and "March 2026" in errors[0]
