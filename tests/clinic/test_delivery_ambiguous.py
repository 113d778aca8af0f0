"""A message handed to the mail server whose answer never comes is "unknown", never resent."""

import pytest

from billing import services
from billing.models import DeliveryStatus, EmailKind, InvoiceEmail
from tests.billing.helpers import contract_invoice
from tests.servers import HangingSmtpPeer

pytestmark = [pytest.mark.faults, pytest.mark.django_db]


@pytest.fixture
def hanging_server(settings):
    server = HangingSmtpPeer()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.close()


def test_a_message_whose_acceptance_is_unknown_is_not_sent_again(hanging_server):
    invoice = contract_invoice()
    email = InvoiceEmail.objects.create(
        invoice=invoice, kind=EmailKind.REMINDER, reminder_step=30, recipient=invoice.bill_to_email
    )
    services.invoice_email_send(email_id=email.pk)
    email.refresh_from_db()
    assert email.status == DeliveryStatus.UNKNOWN
    assert len(hanging_server.messages) == 1
    # A retry of the task does not hand it over again.
    services.invoice_email_send(email_id=email.pk)
    assert len(hanging_server.messages) == 1
    email.refresh_from_db()
    assert email.status == DeliveryStatus.UNKNOWN
