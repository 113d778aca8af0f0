"""Billing mail is sent at most once, through clinic.delivery, against a real SMTP server."""

import pytest
from django.db import DatabaseError, connection
from django.urls import reverse

from billing import services
from billing.models import BillingEvent, DeliveryStatus, EmailKind, InvoiceEmail
from billing.tasks import send_invoice_email
from clinic.roles import Role
from tests.billing.helpers import contract_invoice
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# A real database failure when the outcome is recorded: the update to "sent" is refused.
FAIL_RECORDING = """
CREATE FUNCTION test_refuse_sent() RETURNS trigger AS $$
BEGIN
    IF NEW.status = 'sent' THEN RAISE EXCEPTION 'the database went away'; END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER test_refuse_sent BEFORE UPDATE ON billing_invoiceemail
    FOR EACH ROW EXECUTE FUNCTION test_refuse_sent();
"""
RECORDING_WORKS = """
DROP TRIGGER IF EXISTS test_refuse_sent ON billing_invoiceemail;
DROP FUNCTION IF EXISTS test_refuse_sent();
"""


@pytest.fixture
def invoice_email():
    invoice = contract_invoice()
    return InvoiceEmail.objects.create(
        invoice=invoice, kind=EmailKind.REMINDER, reminder_step=30, recipient=invoice.bill_to_email
    )


def test_a_failure_to_record_after_sending_does_not_send_a_second_copy(
    mailbox, invoice_email, client
):
    # The run's own invoice email may have reached the server; count from here.
    before = len(mailbox.messages)
    with connection.cursor() as cursor:
        cursor.execute(FAIL_RECORDING)
    try:
        with pytest.raises(DatabaseError):
            services.invoice_email_send(email_id=invoice_email.pk)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(RECORDING_WORKS)
    assert len(mailbox.wait_for(before + 1, timeout=5)) == before + 1
    # The task runs again (a retry, a duplicate delivery of the task): nothing is sent.
    send_invoice_email.apply(args=[invoice_email.pk])
    send_invoice_email.apply(args=[invoice_email.pk])
    assert len(mailbox.messages) == before + 1
    invoice_email.refresh_from_db()
    assert invoice_email.status == DeliveryStatus.UNKNOWN

    # Staff see the state on the invoice page, with a resend action.
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    page = client.get(reverse("billing:invoice_detail", args=[invoice_email.invoice_id]))
    text = page.content.decode()
    assert "Unknown: check before resending" in text
    resend = reverse("billing:invoice_email_resend", args=[invoice_email.pk])
    assert resend in text

    # Having checked, an administrator resends it deliberately: exactly one more copy.
    response = client.post(resend)
    assert response.status_code == 302
    assert len(mailbox.wait_for(before + 2, timeout=10)) == before + 2
    invoice_email.refresh_from_db()
    assert invoice_email.status == DeliveryStatus.SENT
    assert BillingEvent.objects.filter(action="invoice_email_resent").count() == 1
    # A second click on the stale page sends nothing more.
    client.post(resend)
    assert len(mailbox.messages) == before + 2


def test_only_an_administrator_can_resend_and_only_by_post(mailbox, invoice_email, client):
    before = len(mailbox.messages)
    InvoiceEmail.objects.filter(pk=invoice_email.pk).update(status=DeliveryStatus.UNKNOWN)
    resend = reverse("billing:invoice_email_resend", args=[invoice_email.pk])
    client.force_login(user_with_role(Role.MEMBER))
    assert client.post(resend).status_code == 403
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    assert client.get(resend).status_code == 405
    invoice_email.refresh_from_db()
    assert invoice_email.status == DeliveryStatus.UNKNOWN
    assert len(mailbox.messages) == before
