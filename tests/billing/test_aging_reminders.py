"""The aging report reminds one payer of their overdue invoices: it says first how many
invoices and to whom, then sends the reminder email once per invoice per day."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from billing import services
from billing.models import EmailKind, InvoiceEmail, PaymentMethod
from clinic.roles import Role
from tests.billing.factories import ContractFactory, EnrolmentFactory
from tests.billing.helpers import MARCH, RUN_DAY, member_invoice
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    return client


def _two_month_contract():
    contract = ContractFactory(rate_per_member_month=Decimal("30.00"))
    EnrolmentFactory(contract=contract)
    services.invoice_run(period=MARCH, today=RUN_DAY, contract_ids=[contract.pk])
    services.invoice_run(
        period=datetime.date(2026, 4, 1),
        today=datetime.date(2026, 5, 1),
        contract_ids=[contract.pk],
    )
    return contract


def test_the_report_offers_a_reminder_per_payer_and_asks_first(
    admin_client, django_capture_on_commit_callbacks
):
    contract = _two_month_contract()
    other = member_invoice()
    page = admin_client.get(reverse("billing:aging_report")).content.decode()
    remind = f"{reverse('billing:aging_remind')}?currency=EUR&amp;contract={contract.pk}"
    assert remind in page
    assert f"{reverse('billing:aging_remind')}?currency=EUR&amp;member={other.member_id}" in page

    url = reverse("billing:aging_remind")
    params = {"currency": "EUR", "contract": contract.pk}
    confirm = admin_client.get(url, params).content.decode()
    contact = contract.anchor.billing_contact_email
    assert "Reminders of 2 overdue invoices" in confirm and contact in confirm
    assert "€60.00" in confirm
    assert not InvoiceEmail.objects.filter(kind=EmailKind.REMINDER).exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, params, follow=True)
    assert "Reminders of 2 overdue invoices are being sent to" in response.content.decode()
    assert sorted(m.to[0] for m in mail.outbox) == [contact, contact]
    assert all("overdue" in m.subject for m in mail.outbox)
    # The other payer was not reminded.
    assert not InvoiceEmail.objects.filter(invoice=other, kind=EmailKind.REMINDER).exists()

    # Again the same day: nothing more is sent.
    with django_capture_on_commit_callbacks(execute=True):
        again = admin_client.post(url, params, follow=True)
    assert "2 invoices were already reminded today" in again.content.decode()
    assert len(mail.outbox) == 2


def test_one_reminder_per_invoice_per_day_and_another_the_next_day(
    django_capture_on_commit_callbacks,
):
    invoice = member_invoice()
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.payer_reminders_send(invoice_ids=[invoice.pk], today=today) == (1, 0)
        assert services.payer_reminders_send(invoice_ids=[invoice.pk], today=today) == (0, 1)
        tomorrow = today + datetime.timedelta(days=1)
        assert services.payer_reminders_send(invoice_ids=[invoice.pk], today=tomorrow) == (1, 0)
    steps = sorted(
        InvoiceEmail.objects.filter(invoice=invoice, kind=EmailKind.REMINDER).values_list(
            "reminder_step", flat=True
        )
    )
    assert steps == [(today - invoice.due_date).days, (tomorrow - invoice.due_date).days]
    assert len(mail.outbox) == 2


def test_a_paid_invoice_is_not_reminded_and_a_payer_with_nothing_overdue_is_404(admin_client):
    invoice = member_invoice()
    services.payment_record(
        invoice=invoice,
        amount=invoice.total,
        paid_on=RUN_DAY,
        method=PaymentMethod.CASH,
    )
    url = reverse("billing:aging_remind")
    params = {"currency": "EUR", "member": invoice.member_id}
    assert admin_client.get(url, params).status_code == 404
    assert admin_client.post(url, params).status_code == 404
    assert services.payer_reminders_send(invoice_ids=[invoice.pk], today=timezone.localdate()) == (
        0,
        0,
    )
    for hostile in ({"currency": "EUR"}, {"contract": "x", "member": "-1"}, {"member": "9" * 40}):
        assert admin_client.get(url, hostile).status_code == 404


def test_only_the_office_reminds(client):
    invoice = member_invoice()
    client.force_login(invoice.member.user)
    url = reverse("billing:aging_remind")
    assert client.post(url, {"currency": "EUR", "member": invoice.member_id}).status_code == 403
    assert not InvoiceEmail.objects.exists()
