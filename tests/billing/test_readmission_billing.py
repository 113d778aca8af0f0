"""A member readmitted within a month no run has invoiced yet: the late run bills every day
of both memberships in that month once, and none of the days between them."""

import datetime
from decimal import Decimal

import pytest

from billing import services as billing
from billing.models import Invoice, InvoiceLine
from clinic.roles import Role
from members import services
from members.models import MemberStatus
from tests.billing.factories import (
    ContractFactory,
    EnrolmentFactory,
    FeePlanAssignmentFactory,
    FeePlanFactory,
)
from tests.factories import user_with_role
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db

D = datetime.date
MARCH = D(2026, 3, 1)
LEFT = D(2026, 3, 10)
BACK = D(2026, 3, 20)


@pytest.fixture
def admin():
    return user_with_role(Role.ADMINISTRATOR)


def _leave_and_come_back(member, admin, *, plan=None) -> None:
    services.member_change_status(
        member=member, to_status=MemberStatus.WITHDRAWN, by=admin, reason="Moved", on=LEFT
    )
    again = services.member_apply(
        first_name="Re",
        last_name="Joiner",
        email=member.user.email,
        date_of_birth=D(1980, 1, 1),
        address="1 Return Road",
        payment_method="fee_plan" if plan else "anchor",
        requested_fee_plan=plan,
        applied_on=D(2026, 3, 15),
    )
    assert again is not None and again.pk == member.pk
    services.member_approve(member=member, by=admin, base_url="http://testserver/", on=BACK)


def _billed(member) -> list[tuple]:
    return [
        (line.start, line.end, line.amount)
        for line in InvoiceLine.objects.filter(member=member).order_by("start")
    ]


def test_a_late_fee_run_bills_both_memberships_in_the_month(admin):
    member = MemberFactory()
    FeePlanAssignmentFactory(member=member, plan__amount=Decimal("31.00"))
    _leave_and_come_back(member, admin, plan=FeePlanFactory(amount=Decimal("62.00")))
    # March's run is made only after the readmission.
    billing.invoice_run(period=MARCH, today=D(2026, 4, 2))
    invoice = Invoice.objects.get(member=member, period=MARCH)
    # 1-10 March on the old plan (10 x 1.00), 20-31 March on the new one (12 x 2.00).
    assert _billed(member) == [
        (D(2026, 3, 1), LEFT, Decimal("10.00")),
        (BACK, D(2026, 3, 31), Decimal("24.00")),
    ]
    assert invoice.total == Decimal("34.00")


def test_a_late_contract_run_bills_both_covers_in_the_month(admin):
    contract = ContractFactory(rate_per_member_month=Decimal("31.00"))
    member = EnrolmentFactory(contract=contract).member
    _leave_and_come_back(member, admin)
    billing.enrolment_add(contract=contract, member=member, covered_from=BACK, actor=admin)
    billing.invoice_run(period=MARCH, today=D(2026, 4, 2))
    assert _billed(member) == [
        (D(2026, 3, 1), LEFT, Decimal("10.00")),
        (BACK, D(2026, 3, 31), Decimal("12.00")),
    ]
    # Nothing between the two memberships, nothing twice, whichever way the run is split.
    billing.invoice_run(period=MARCH, today=D(2026, 4, 3))
    assert len(_billed(member)) == 2
