"""The mail server refuses or stops answering: mail is retried with backoff, each attempt
is recorded, nothing is marked sent before the server accepts it, the last failure is
shown where staff look, and their resend never sends a second copy."""

import socket
import time
from smtplib import SMTPDataError, SMTPRecipientsRefused

import pytest
from celery.exceptions import Retry
from django.urls import reverse

from billing import services as billing_services
from billing.models import EmailKind, InvoiceEmail
from billing.tasks import send_invoice_email
from clinic.delivery import DeliveryStatus
from clinic.roles import Role
from governance import services as governance_services
from governance import tasks as governance_tasks
from governance.models import NoticeDelivery
from tests.billing.helpers import contract_invoice
from tests.conftest import SMTPServer
from tests.factories import user_with_role
from tests.governance.factories import MeetingFactory
from tests.members.factories import MemberFactory

pytestmark = [pytest.mark.faults, pytest.mark.django_db]


class RefusingSMTPServer(SMTPServer):
    """Refuses every message with ``reply`` until ``refusing`` is turned off."""

    def __init__(self, reply: str) -> None:
        super().__init__()
        self.reply = reply
        self.refusing = True
        self.refused = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.refusing:
            self.refused += 1
            return self.reply
        return await super().handle_DATA(server, session, envelope)


class SilentSMTPServer:
    """Accepts the connection and never says a word (a hung or overloaded mail server)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=50)
        self.port = self.listener.getsockname()[1]

    def close(self) -> None:
        self.listener.close()


def use_mail_server(settings, host: str, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = host, port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""


@pytest.fixture
def refusing_smtp(settings):
    server = RefusingSMTPServer("554 5.7.1 Message refused")
    server.controller.start()
    use_mail_server(settings, server.controller.hostname, server.controller.port)
    yield server
    server.controller.stop()


def test_invoice_mail_refused_to_the_end_is_shown_failed_and_resent_once(
    refusing_smtp, client, django_capture_on_commit_callbacks
):
    invoice = contract_invoice()
    billing_services.invoice_render_pdf(invoice_id=invoice.pk)
    email = InvoiceEmail.objects.create(
        invoice=invoice, kind=EmailKind.INVOICE, recipient=invoice.bill_to_email
    )
    task = send_invoice_email
    # Each attempt asks Celery for a retry after a backoff, and is recorded.
    for attempt in range(task.max_retries):
        with pytest.raises(Retry) as retry:
            task.apply(args=[email.pk], retries=attempt)
        assert retry.value.when is not None
        email.refresh_from_db()
        assert (email.status, email.attempts) == (DeliveryStatus.FAILED, attempt + 1)
        assert "554" in email.last_error and email.sent_at is None
    with pytest.raises(SMTPDataError):
        task.apply(args=[email.pk], retries=task.max_retries)
    email.refresh_from_db()
    assert (email.status, email.attempts) == (DeliveryStatus.GAVE_UP, task.max_retries + 1)
    assert refusing_smtp.refused == task.max_retries + 1
    assert refusing_smtp.messages == []

    client.force_login(user_with_role(Role.ADMINISTRATOR))
    page = client.get(reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()
    assert "Failed" in page and "554" in page
    resend = reverse("billing:invoice_email_resend", args=[email.pk])
    assert resend in page

    refusing_smtp.refusing = False
    with django_capture_on_commit_callbacks(execute=True):
        client.post(resend)
    assert [m["To"] for m in refusing_smtp.wait_for(1)] == [invoice.bill_to_email]
    email.refresh_from_db()
    assert email.status == DeliveryStatus.SENT
    # Accepted now: resending again (a second click, a stale page) sends nothing.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(resend)
    assert len(refusing_smtp.messages) == 1


def test_notice_mail_to_a_server_that_does_not_answer_fails_in_time_and_is_retried(
    settings, mailbox, client
):
    # By default an attempt gives up after 30 seconds of silence; here after 1.
    assert settings.EMAIL_TIMEOUT == 30
    silent = SilentSMTPServer()
    settings.EMAIL_TIMEOUT = 1
    use_mail_server(settings, "127.0.0.1", silent.port)
    members = MemberFactory.create_batch(2)
    meeting = MeetingFactory()
    governance_services.meeting_send_notice(meeting=meeting)  # on-commit work not run
    ids = list(NoticeDelivery.objects.values_list("pk", flat=True))
    started = time.monotonic()
    try:
        with pytest.raises(Retry):
            governance_tasks.send_notice_chunk.apply(args=(meeting.pk, ids), retries=0)
    finally:
        silent.close()
    # Bounded by EMAIL_TIMEOUT per message, not hung for ever.
    assert time.monotonic() - started < 15
    for delivery in NoticeDelivery.objects.all():
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
        assert "timed out" in delivery.last_error
    assert mailbox.messages == []
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    page = client.get(reverse("governance:notice_progress", args=[meeting.pk])).content.decode()
    assert "Failed, retrying" in page

    # The server answers again: the retry sends each notice once.
    use_mail_server(settings, mailbox.controller.hostname, mailbox.controller.port)
    governance_tasks.send_notice_chunk.apply(args=(meeting.pk, ids), retries=1)
    assert sorted(m["To"] for m in mailbox.wait_for(2)) == sorted(m.user.email for m in members)
    governance_tasks.send_notice_chunk.apply(args=(meeting.pk, ids), retries=2)
    assert len(mailbox.messages) == 2


def test_a_refused_recipient_is_retried_and_never_marked_sent(settings, client):
    """A 5xx at RCPT (the address is refused) is a failure like any other: never "sent"."""

    class RefusingRecipients(SMTPServer):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            return "550 5.1.1 No such mailbox"

    server = RefusingRecipients()
    server.controller.start()
    try:
        use_mail_server(settings, server.controller.hostname, server.controller.port)
        invoice = contract_invoice()
        email = InvoiceEmail.objects.create(
            invoice=invoice, kind=EmailKind.INVOICE, recipient=invoice.bill_to_email
        )
        with pytest.raises(Retry):
            send_invoice_email.apply(args=[email.pk], retries=0)
        with pytest.raises(SMTPRecipientsRefused):
            send_invoice_email.apply(args=[email.pk], retries=send_invoice_email.max_retries)
    finally:
        server.controller.stop()
    email.refresh_from_db()
    assert (email.status, email.attempts, email.sent_at) == (DeliveryStatus.GAVE_UP, 2, None)
    assert "550" in email.last_error
    assert server.messages == []


def test_a_consultation_email_refused_to_the_end_is_on_the_hub_dashboard_and_resent_once(
    refusing_smtp, client, django_capture_on_commit_callbacks
):
    from careteam.models import Notification
    from careteam.services import consultation_request
    from careteam.tasks import send_notification_email
    from tests.arcs.factories import CareSetting, discipline
    from tests.careteam.factories import PractitionerFactory

    care = CareSetting()
    doctor = PractitionerFactory(discipline=discipline("primary-care-medicine"))
    consultation_request(
        arc=care.arc,
        requested_by=care.clinician,
        to_discipline=doctor.discipline,
        to_practitioner=doctor,
        question="Could the medicines explain it?",
    )  # on-commit work not run: the email is queued, not sent
    notification = Notification.objects.get(recipient=doctor.user)
    task = send_notification_email
    for attempt in range(task.max_retries):
        with pytest.raises(Retry):
            task.apply(args=[notification.pk], retries=attempt)
        notification.refresh_from_db()
        assert (notification.status, notification.attempts) == (DeliveryStatus.FAILED, attempt + 1)
    with pytest.raises(SMTPDataError):
        task.apply(args=[notification.pk], retries=task.max_retries)
    notification.refresh_from_db()
    assert (notification.status, notification.sent_at) == (DeliveryStatus.GAVE_UP, None)
    assert refusing_smtp.messages == []

    resend = reverse("careteam:notification_email_resend", args=[notification.pk])
    # Only a hub coordinator resends: not the clinician, not a member.
    for outsider in (care.clinician.user, care.member.user):
        client.force_login(outsider)
        assert client.post(resend).status_code == 403
    client.force_login(care.hub.user)
    page = client.get(reverse("careteam:team_dashboard")).content.decode()
    assert resend in page and "554" in page

    refusing_smtp.refusing = False
    with django_capture_on_commit_callbacks(execute=True):
        client.post(resend)
    assert [m["To"] for m in refusing_smtp.wait_for(1)] == [doctor.user.email]
    notification.refresh_from_db()
    assert notification.status == DeliveryStatus.SENT
    with django_capture_on_commit_callbacks(execute=True):
        client.post(resend)  # a second click: already sent, nothing requeued
    assert len(refusing_smtp.messages) == 1
    assert resend not in client.get(reverse("careteam:team_dashboard")).content.decode()


def test_a_notification_cancelled_because_its_recipient_left_the_team_is_never_resent():
    from careteam import selectors, services
    from careteam.models import Notification
    from tests.arcs.factories import CareSetting, discipline
    from tests.careteam.factories import PractitionerFactory

    care = CareSetting()
    doctor = PractitionerFactory(discipline=discipline("primary-care-medicine"))
    services.consultation_request(
        arc=care.arc,
        requested_by=care.clinician,
        to_discipline=doctor.discipline,
        to_practitioner=doctor,
        question="Could the medicines explain it?",
    )
    notification = Notification.objects.get(recipient=doctor.user)
    Notification.objects.filter(pk=notification.pk).update(
        status=DeliveryStatus.GAVE_UP, last_error=services.CANCELLED_NOT_SENT
    )
    assert list(selectors.notification_emails_failed()) == []
    assert services.notification_email_requeue(notification_id=notification.pk) is False
    notification.refresh_from_db()
    assert notification.status == DeliveryStatus.GAVE_UP
