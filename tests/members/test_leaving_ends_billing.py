"""Leaving the cooperative ends billing: the test starts in members and asserts in billing."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from billing import services as billing
from billing.models import BillingEvent, CoverEnrolment, Invoice, InvoiceLine
from clinic.roles import Role
from members import services
from members.models import FeePlanAssignment, MemberStatus
from tests.billing.factories import (
    EnrolmentFactory,
    FeePlanAssignmentFactory,
    FeePlanFactory,
)
from tests.factories import user_with_role
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db

D = datetime.date
LEFT = D(2026, 3, 10)


def run(month: datetime.date) -> None:
    billing.invoice_run(period=month, today=month.replace(day=28) + datetime.timedelta(days=7))


def billed_days_after(member, day: datetime.date) -> list[InvoiceLine]:
    return list(InvoiceLine.objects.filter(member=member, end__gt=day))


@pytest.fixture
def admin():
    return user_with_role(Role.ADMINISTRATOR)


@pytest.mark.parametrize(
    "ceased", [MemberStatus.WITHDRAWN, MemberStatus.EXPELLED, MemberStatus.DECEASED]
)
def test_a_fee_member_who_left_is_not_invoiced_after_the_day_they_left(admin, ceased):
    assignment = FeePlanAssignmentFactory(plan__amount=Decimal("31.00"))
    member = assignment.member
    services.member_change_status(member=member, to_status=ceased, by=admin, reason="Left", on=LEFT)
    assignment.refresh_from_db()
    assert assignment.valid_to == LEFT
    for month in (D(2026, 3, 1), D(2026, 4, 1), D(2026, 5, 1)):
        run(month)
    invoice = Invoice.objects.get(member=member)
    assert invoice.period == D(2026, 3, 1)
    assert invoice.total == Decimal("10.00")
    assert billed_days_after(member, LEFT) == []


def test_an_anchor_stops_paying_for_a_member_who_died(admin):
    enrolment = EnrolmentFactory(contract__rate_per_member_month=Decimal("31.00"))
    other = EnrolmentFactory(contract=enrolment.contract)
    member = enrolment.member
    services.member_change_status(
        member=member, to_status=MemberStatus.DECEASED, by=admin, reason="Died", on=LEFT
    )
    enrolment.refresh_from_db()
    assert enrolment.covered_to == LEFT
    for month in (D(2026, 3, 1), D(2026, 4, 1)):
        run(month)
    march = InvoiceLine.objects.get(invoice__period=D(2026, 3, 1), member=member)
    assert (march.start, march.end, march.amount) == (D(2026, 3, 1), LEFT, Decimal("10.00"))
    assert billed_days_after(member, LEFT) == []
    # The anchor still pays for the people who are still members.
    assert InvoiceLine.objects.filter(invoice__period=D(2026, 4, 1), member=other.member).exists()


def test_cover_and_plans_starting_after_leaving_are_removed(admin):
    member = MemberFactory()
    FeePlanAssignmentFactory(member=member, valid_to=D(2026, 3, 31))
    FeePlanAssignmentFactory(member=member, valid_from=D(2026, 4, 1))
    EnrolmentFactory(member=member, covered_from=D(2026, 5, 1))
    services.member_cease(
        member=member, to_status=MemberStatus.WITHDRAWN, by=admin, reason="Left", on=LEFT
    )
    assert list(FeePlanAssignment.objects.filter(member=member).values_list("valid_to")) == [
        (LEFT,)
    ]
    assert not CoverEnrolment.objects.filter(member=member).exists()
    assert BillingEvent.objects.filter(action="cover_removed").count() == 1


def test_leaving_and_ending_billing_are_one_transaction(admin):
    """A refused status change leaves plan and cover as they were."""
    enrolment = EnrolmentFactory()
    member = enrolment.member
    with pytest.raises(Exception, match="reason"):
        services.member_change_status(
            member=member, to_status=MemberStatus.WITHDRAWN, by=admin, reason="", on=LEFT
        )
    enrolment.refresh_from_db()
    assert enrolment.covered_to is None


def test_the_invoice_run_never_bills_a_day_outside_membership():
    """Second line of defence: plan and cover rows written around the services."""
    member = MemberFactory(status=MemberStatus.WITHDRAWN, ceased_on=LEFT)
    FeePlanAssignmentFactory(member=member, plan__amount=Decimal("31.00"))
    EnrolmentFactory(member=member, contract__rate_per_member_month=Decimal("31.00"))
    late_joiner = MemberFactory(admitted_on=D(2026, 3, 22))
    FeePlanAssignmentFactory(member=late_joiner, plan__amount=Decimal("31.00"))
    for month in (D(2026, 3, 1), D(2026, 4, 1)):
        run(month)
    assert billed_days_after(member, LEFT) == []
    contract_id = member.cover_enrolments.get().contract_id
    assert sorted(
        (line.invoice.contract_id or 0, line.amount)
        for line in InvoiceLine.objects.filter(member=member).select_related("invoice")
    ) == [(contract_id, Decimal("10.00"))]  # covered days are the anchor's, not the fee's
    first = InvoiceLine.objects.filter(member=late_joiner).order_by("start").first()
    assert (first.start, first.amount) == (D(2026, 3, 22), Decimal("10.00"))


def test_readmission_starts_fresh_without_the_old_plan_or_cover(admin):
    member = MemberFactory()
    FeePlanAssignmentFactory(member=member, plan__amount=Decimal("31.00"))
    EnrolmentFactory(member=member)
    services.member_change_status(
        member=member, to_status=MemberStatus.WITHDRAWN, by=admin, reason="Left", on=LEFT
    )
    new_plan = FeePlanFactory(amount=Decimal("62.00"))
    again = services.member_apply(
        first_name="Re",
        last_name="Joiner",
        email=member.user.email,
        date_of_birth=D(1980, 1, 1),
        address="1 Return Road",
        requested_fee_plan=new_plan,
        applied_on=D(2026, 4, 20),
    )
    assert again is not None and again.pk == member.pk
    services.member_approve(
        member=member, by=admin, base_url="http://testserver/", on=D(2026, 5, 1)
    )
    member.refresh_from_db()
    assert (member.status, member.ceased_on, member.admitted_on) == (
        MemberStatus.ACTIVE,
        None,
        D(2026, 5, 1),
    )
    for month in (D(2026, 4, 1), D(2026, 5, 1)):
        run(month)
    lines = InvoiceLine.objects.filter(member=member, end__gt=LEFT)
    # Only the new plan bills after readmission; the old plan and the cover stay ended.
    assert [(line.unit_amount, line.start, line.end) for line in lines] == [
        (Decimal("62.00"), D(2026, 5, 1), D(2026, 5, 31))
    ]


def test_the_office_is_told_which_issued_invoices_bill_after_a_late_recorded_death(admin, client):
    assignment = FeePlanAssignmentFactory(plan__amount=Decimal("31.00"))
    member = assignment.member
    run(D(2026, 3, 1))
    invoice = Invoice.objects.get(member=member)
    client.force_login(admin)
    response = client.post(
        reverse("members:member_status", args=[member.pk]),
        {"to_status": MemberStatus.DECEASED, "effective_on": "2026-03-10", "reason": "Died"},
        follow=True,
    )
    text = response.content.decode()
    assert invoice.number in text
    assert "credit notes" in text
    # Recording the death is never refused; the plan ends on the day.
    assignment.refresh_from_db()
    assert assignment.valid_to == LEFT


def test_the_status_form_does_not_offer_applicant(admin, client):
    member = MemberFactory(status=MemberStatus.WITHDRAWN, ceased_on=LEFT)
    client.force_login(admin)
    page = client.get(reverse("members:member_detail", args=[member.pk])).content.decode()
    assert 'value="applicant"' not in page
    with pytest.raises(Exception, match="Join"):
        services.member_change_status(
            member=member, to_status=MemberStatus.APPLICANT, by=admin, reason="x"
        )
