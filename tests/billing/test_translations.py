"""Words that mean two things in English are translated apart: "Paid" heads an amount and
names an invoice's status, which Spanish writes "Pagado" and "Pagada"."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from billing import services
from billing.models import EmailKind, InvoiceEmail, InvoiceStatus, PaymentMethod
from clinic.delivery import DeliveryStatus
from clinic.roles import Role
from tests.billing.helpers import RUN_DAY, contract_invoice
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "paid", "credited", "status", "email_failed"),
    [
        ("es", "Pagado", "Abonado", "Pagada", "Fallido"),
        ("pt-br", "Pago", "Creditado", "Paga", "Falhou"),
    ],
)
def test_amounts_statuses_and_deliveries_agree_with_what_they_describe(
    client, language, paid, credited, status, email_failed
):
    invoice = contract_invoice()
    services.payment_record(
        invoice=invoice, amount=Decimal("100.00"), paid_on=RUN_DAY,
        method=PaymentMethod.BANK_TRANSFER, today=RUN_DAY,
    )  # fmt: skip
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    InvoiceEmail.objects.create(
        invoice=invoice, kind=EmailKind.INVOICE, recipient="a@example.org",
        status=DeliveryStatus.GAVE_UP,
    )  # fmt: skip
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    page = client.get(reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()
    assert f'<dt class="col-sm-3">{paid}</dt>' in page
    assert f'<dt class="col-sm-3">{credited}</dt>' in page
    assert f'id="invoice-status">{status}</dd>' in page
    assert f"<td>{email_failed} <form" in page
