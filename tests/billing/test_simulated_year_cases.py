"""Cases the simulated year found, kept as plain tests (tests/billing/test_simulated_year.py)."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing import services as billing
from billing.models import CoverEnrolment, InvoiceLine
from clinic.roles import Role
from members import services as members
from members.models import FeePeriod, FeePlanAssignment
from tests.billing.factories import ContractFactory
from tests.factories import user_with_role
from tests.members.factories import ApplicantFactory

pytestmark = pytest.mark.django_db

D = datetime.date


def test_a_fee_plan_backdated_into_a_month_whose_fee_run_issued_no_invoice_is_refused():
    """Found by the simulated year: a member admitted without a plan, a month's run that
    issued no member invoice at all, then a plan backdated into that month was accepted
    and its days were never billed to anyone."""
    admin = user_with_role(Role.ADMINISTRATOR)
    plan = members.fee_plan_save(
        name="Standard",
        amount=Decimal("30"),
        currency="EUR",
        period=FeePeriod.MONTHLY,
        is_available=True,
    )
    member = members.member_approve(
        member=ApplicantFactory(payment_method="anchor", requested_fee_plan=None),
        by=admin,
        base_url="https://clinic.test/",
        on=D(2024, 10, 1),
    )
    # October's run: nobody is on a fee plan, so no member invoice is issued.
    assert billing.invoice_run(period=D(2024, 10, 1), today=D(2024, 11, 1)).created == []
    with pytest.raises(ValidationError, match="October 2024"):
        members.fee_plan_assign(member=member, plan=plan, valid_from=D(2024, 10, 13))
    assert not FeePlanAssignment.objects.filter(member=member).exists()
    # From the first month not yet run, the plan is taken and billed.
    members.fee_plan_assign(member=member, plan=plan, valid_from=D(2024, 11, 1))
    billing.invoice_run(period=D(2024, 11, 1), today=D(2024, 12, 1))
    assert InvoiceLine.objects.filter(member=member, start=D(2024, 11, 1)).exists()


def test_cover_backdated_into_a_month_whose_run_passed_a_new_contract_is_refused():
    """Found by the simulated year: a contract activated with a start date in a month whose
    run was already made, then a member's cover backdated into that month, was accepted,
    and the anchor was never invoiced for those days."""
    admin = user_with_role(Role.ADMINISTRATOR)
    member = members.member_approve(
        member=ApplicantFactory(payment_method="anchor", requested_fee_plan=None),
        by=admin,
        base_url="https://clinic.test/",
        on=D(2019, 10, 1),
    )
    billing.invoice_run(period=D(2019, 11, 1), today=D(2019, 12, 2))
    contract = ContractFactory(start_date=D(2019, 11, 1), status="draft")
    billing.contract_transition(contract=contract, to="active", actor=admin)
    with pytest.raises(ValidationError, match="November 2019"):
        billing.enrolment_add(
            contract=contract, member=member, covered_from=D(2019, 11, 1), actor=admin
        )
    assert not CoverEnrolment.objects.exists()
    # From the month not yet run, the cover is taken and the anchor invoiced for it.
    billing.enrolment_add(contract=contract, member=member, covered_from=D(2019, 12, 1))
    billing.invoice_run(period=D(2019, 12, 1), today=D(2020, 1, 2))
    assert InvoiceLine.objects.filter(member=member, invoice__contract=contract).exists()
