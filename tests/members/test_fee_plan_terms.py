"""A fee plan's price terms are fixed once anyone is on it; name and availability are not."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing import services as billing
from billing.models import Invoice
from clinic.roles import Role
from members import services
from members.models import FeePeriod, FeePlan
from tests.billing.factories import FeePlanAssignmentFactory, FeePlanFactory
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

MESSAGE = "create a new plan and reassign members"


def save(plan: FeePlan, **changes) -> FeePlan:
    values = {
        "name": plan.name,
        "amount": plan.amount,
        "currency": plan.currency,
        "period": plan.period,
        "is_available": plan.is_available,
        **changes,
    }
    return services.fee_plan_save(plan=plan, **values)


@pytest.mark.parametrize(
    "changes",
    [{"amount": Decimal("120.00")}, {"period": FeePeriod.YEARLY}, {"currency": "USD"}],
)
def test_the_price_terms_of_an_assigned_plan_cannot_change(changes):
    assignment = FeePlanAssignmentFactory(plan__amount=Decimal("10.00"))
    with pytest.raises(ValidationError, match=MESSAGE):
        save(assignment.plan, **changes)
    plan = FeePlan.objects.get(pk=assignment.plan_id)
    assert (plan.amount, plan.period, plan.currency) == (Decimal("10.00"), "monthly", "EUR")


def test_a_december_price_change_does_not_rebill_the_year():
    """The issue's case: 10/month changed to 120/year in December billed 230.00."""
    assignment = FeePlanAssignmentFactory(plan__amount=Decimal("10.00"))
    with pytest.raises(ValidationError):
        save(assignment.plan, amount=Decimal("120.00"), period=FeePeriod.YEARLY)
    billing.invoice_run(period=datetime.date(2026, 12, 1), today=datetime.date(2027, 1, 1))
    assert Invoice.objects.get(member=assignment.member).total == Decimal("10.00")


def test_name_and_availability_stay_editable_and_unassigned_plans_are_free():
    assignment = FeePlanAssignmentFactory()
    plan = save(assignment.plan, name="Solidarity tier", is_available=False)
    assert (plan.name, plan.is_available) == ("Solidarity tier", False)
    unused = FeePlanFactory(amount=Decimal("10.00"))
    assert save(unused, amount=Decimal("12.00")).amount == Decimal("12.00")


def test_the_edit_form_refuses_with_the_message(client):
    assignment = FeePlanAssignmentFactory(plan__amount=Decimal("10.00"))
    plan = assignment.plan
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    response = client.post(
        reverse("members:fee_plan_edit", args=[plan.pk]),
        {
            "name": plan.name,
            "amount": "120.00",
            "currency": "EUR",
            "period": "yearly",
            "is_available": "on",
        },
    )
    assert response.status_code == 400
    assert MESSAGE in response.content.decode()
    plan.refresh_from_db()
    assert (plan.amount, plan.period) == (Decimal("10.00"), "monthly")
