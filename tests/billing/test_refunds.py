"""Corrections are entries: a credit note corrects a paid invoice, a refund returns money."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing import services
from billing.models import BillingEvent, InvoiceStatus, PaymentMethod, Refund
from clinic.roles import Role
from tests.billing.helpers import RUN_DAY, paid_invoice
from tests.billing.test_views import person
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def refund(invoice, amount, **kwargs):
    return services.refund_record(
        invoice=invoice,
        amount=Decimal(amount),
        refunded_on=RUN_DAY,
        method=PaymentMethod.BANK_TRANSFER,
        reason=kwargs.pop("reason", "Credit paid back"),
        today=RUN_DAY,
        **kwargs,
    )


def test_a_paid_invoice_is_corrected_by_a_credit_note_and_the_credit_refunded():
    invoice, payment = paid_invoice()
    services.credit_note_issue(invoice=invoice, amount=Decimal("30.00"), reason="Left early")
    # The credit is money owed back: an explicit negative balance.
    assert services.invoice_balance(invoice)[2] == Decimal("-30.00")
    admin = user_with_role(Role.ADMINISTRATOR)
    entry = refund(invoice, "30.00", payment=payment, actor=admin)
    assert (entry.amount, entry.currency, entry.payment) == (Decimal("30.00"), "EUR", payment)
    # total - paid - credited + refunded
    assert services.invoice_balance(invoice)[2] == Decimal("0.00")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.payments.get().amount == Decimal("100.00")  # the payment is untouched
    assert BillingEvent.objects.filter(invoice=invoice, action="refund_recorded", actor=admin)


def test_only_a_credit_owed_back_can_be_refunded_so_no_balance_goes_negative_without_one():
    invoice, _payment = paid_invoice()
    with pytest.raises(ValidationError, match=r"Only the 0 EUR|Only the 0\.00 EUR"):
        refund(invoice, "1.00")
    services.credit_note_issue(invoice=invoice, amount=Decimal("30.00"), reason="Left early")
    with pytest.raises(ValidationError, match=r"Only the 30\.00 EUR"):
        refund(invoice, "30.01")
    refund(invoice, "20.00")
    with pytest.raises(ValidationError, match=r"Only the 10\.00 EUR"):
        refund(invoice, "10.01")
    with pytest.raises(ValidationError, match="reason"):
        refund(invoice, "1.00", reason=" ")
    assert Refund.objects.filter(invoice=invoice).count() == 1
    assert services.invoice_balance(invoice)[2] == Decimal("-10.00")


def test_a_refund_on_another_invoices_payment_is_refused():
    invoice, _payment = paid_invoice()
    _other, other_payment = paid_invoice()
    services.credit_note_issue(invoice=invoice, amount=Decimal("30.00"), reason="x")
    with pytest.raises(ValidationError, match="not on invoice"):
        refund(invoice, "30.00", payment=other_payment)


def test_the_invoice_page_shows_money_returned(client):
    invoice, _payment = paid_invoice()
    services.credit_note_issue(invoice=invoice, amount=Decimal("30.00"), reason="Left early")
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    page = client.get(reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()
    assert 'id="invoice-owed-back"><span class="text-nowrap">€30.00</span>' in page
    assert reverse("billing:refund_create", args=[invoice.pk]) in page
    response = client.post(
        reverse("billing:refund_create", args=[invoice.pk]),
        {
            "amount": "30.00",
            "refunded_on": RUN_DAY.isoformat(),
            "method": PaymentMethod.BANK_TRANSFER,
            "reference": "R-1",
            "reason": "Credit paid back",
        },
    )
    assert response.status_code == 302
    page = client.get(reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()
    assert 'id="invoice-refunded"><span class="text-nowrap">€30.00</span>' in page
    assert "€30.00</span> · Bank transfer R-1 · Credit paid back" in page


def test_a_refund_above_the_credit_is_refused_on_the_page(client):
    invoice, _payment = paid_invoice()
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    response = client.post(
        reverse("billing:refund_create", args=[invoice.pk]),
        {
            "amount": "5.00",
            "refunded_on": RUN_DAY.isoformat(),
            "method": PaymentMethod.BANK_TRANSFER,
            "reason": "x",
        },
    )
    assert response.status_code == 400
    assert "issue a credit note first" in response.content.decode()
    assert not Refund.objects.exists()


@pytest.mark.parametrize(
    "role", [Role.MEMBER, Role.CLINICIAN, Role.HUB_COORDINATOR, Role.ANCHOR_CONTACT]
)
def test_only_administrators_record_refunds(client, role):
    invoice, _payment = paid_invoice()
    services.credit_note_issue(invoice=invoice, amount=Decimal("30.00"), reason="x")
    user = person(role)
    if role is Role.ANCHOR_CONTACT:
        invoice.contract.anchor.contacts.add(user)  # even the invoice's own anchor contact
    client.force_login(user)
    data = {
        "amount": "30.00",
        "refunded_on": RUN_DAY.isoformat(),
        "method": PaymentMethod.BANK_TRANSFER,
        "reason": "x",
    }
    assert client.post(reverse("billing:refund_create", args=[invoice.pk]), data).status_code == 403
    assert not Refund.objects.exists()


def test_anonymous_visitors_cannot_record_a_refund(client):
    invoice, _payment = paid_invoice()
    response = client.post(reverse("billing:refund_create", args=[invoice.pk]), {})
    assert response.status_code == 302 and "login" in response["Location"]
    assert not Refund.objects.exists()
