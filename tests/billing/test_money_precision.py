"""Every currency is billed, stored and shown with its own minor unit (issue 9): three
decimals for the Kuwaiti dinar, none for the yen, two for the euro."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from billing import services
from billing.models import Invoice, InvoiceLine
from clinic.money import format_money
from clinic.roles import Role
from members.forms import FeePlanForm
from members.models import FeePlan
from tests.billing.factories import EnrolmentFactory, FeePlanAssignmentFactory
from tests.billing.helpers import MARCH, RUN_DAY
from tests.factories import user_with_role
from tests.pdf import pdf_text

pytestmark = pytest.mark.django_db
D = datetime.date


def _issue(django_capture_on_commit_callbacks, **kwargs) -> Invoice:
    with django_capture_on_commit_callbacks(execute=True):
        services.invoice_run(period=MARCH, today=RUN_DAY, **kwargs)
    # Read back from the database: what is stored, not what the run computed.
    return Invoice.objects.get()


def test_a_kwd_fee_of_10_125_a_month_is_billed_stored_and_shown_as_10_125(
    client, django_capture_on_commit_callbacks
):
    assignment = FeePlanAssignmentFactory(plan__amount=Decimal("10.125"), plan__currency="KWD")
    assert FeePlan.objects.get().amount == Decimal("10.125")
    invoice = _issue(django_capture_on_commit_callbacks, contract_ids=[])
    line = InvoiceLine.objects.get()
    assert (invoice.currency, str(invoice.total)) == ("KWD", "10.125")
    assert (line.amount, line.unit_amount) == (Decimal("10.125"), Decimal("10.125"))
    shown = format_money(Decimal("10.125"), "KWD")
    assert "10.125" in shown
    # The invoice PDF, the invoice page and the member's own balance.
    assert shown in pdf_text(invoice.pdf.read())
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    page = client.get(reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()
    assert page.count(shown) >= 3  # full-period amount, line amount, total
    client.force_login(assignment.member.user)
    balance = client.get(reverse("members:my_membership")).content.decode()
    assert f'<strong class="text-nowrap">{shown}</strong>' in balance


def test_a_yen_invoice_has_no_decimals(client, django_capture_on_commit_callbacks):
    # 1000 JPY a month for 10 of 31 days is 322.58...: billed as 323 yen.
    EnrolmentFactory(
        contract__currency="JPY",
        contract__rate_per_member_month=Decimal("1000"),
        covered_from=D(2026, 3, 22),
    )
    invoice = _issue(django_capture_on_commit_callbacks)
    assert str(invoice.total) == "323"
    shown = format_money(Decimal("323"), "JPY")
    assert "323" in shown and "323." not in shown and "323," not in shown
    assert shown in pdf_text(invoice.pdf.read())
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    page = client.get(reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()
    assert shown in page


def test_a_euro_invoice_keeps_two_decimals(client, django_capture_on_commit_callbacks):
    FeePlanAssignmentFactory(plan__amount=Decimal("20"), plan__currency="EUR")
    invoice = _issue(django_capture_on_commit_callbacks, contract_ids=[])
    assert str(invoice.total) == "20.00"  # stored with four decimals, read with two
    assert str(InvoiceLine.objects.get().amount) == "20.0000"  # lines carry no currency
    shown = format_money(Decimal("20"), "EUR")
    assert "20.00" in shown
    assert shown in pdf_text(invoice.pdf.read())
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    page = client.get(reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()
    assert "20.0000" not in page and shown in page


@pytest.mark.parametrize(
    ("amount", "currency", "valid"),
    [("10.125", "KWD", True), ("10.125", "EUR", False), ("1000.5", "JPY", False)],
)
def test_a_fee_plan_price_has_at_most_its_currency_s_decimals(amount, currency, valid):
    form = FeePlanForm(
        data={"name": "Tier", "amount": amount, "currency": currency, "period": "monthly"}
    )
    assert form.is_valid() is valid
    if not valid:
        assert currency in form.errors["amount"][0]
