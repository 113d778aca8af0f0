"""A message handed to the mail server whose answer never comes is "unknown", never resent."""

import socket
import threading

import pytest

from billing import services
from billing.models import DeliveryStatus, EmailKind, InvoiceEmail
from tests.billing.helpers import contract_invoice

pytestmark = [pytest.mark.faults, pytest.mark.django_db]


class AcceptsThenHangsUp:
    """A real SMTP peer on loopback: takes the whole message, then closes the connection
    instead of answering the end of DATA (a crash, or a network cut, at the worst moment)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.messages: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                peer, _address = self.server.accept()
            except OSError:
                return
            with peer, peer.makefile("rb") as lines:
                peer.sendall(b"220 test ready\r\n")
                while line := lines.readline():
                    command = line[:4].upper()
                    if command in (b"EHLO", b"HELO"):
                        peer.sendall(b"250 test\r\n")
                    elif command == b"DATA":
                        peer.sendall(b"354 go ahead\r\n")
                        body = b"".join(iter(lines.readline, b".\r\n"))
                        self.messages.append(body)
                        break  # hang up without the final answer
                    else:
                        peer.sendall(b"250 ok\r\n")

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def hanging_server(settings):
    server = AcceptsThenHangsUp()
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
