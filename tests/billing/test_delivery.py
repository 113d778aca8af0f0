import datetime
import socket
from decimal import Decimal

import pytest
from celery.exceptions import Retry

from billing import services
from billing.models import DeliveryStatus, EmailKind, Invoice, InvoiceEmail
from billing.tasks import deliver_invoice, send_invoice_email
from tests.billing.factories import EnrolmentFactory
from tests.billing.helpers import MARCH, RUN_DAY, contract_invoice
from tests.pdf import pdf_text

D = datetime.date


@pytest.mark.django_db
def test_issuing_renders_the_pdf_and_emails_it_to_the_billing_contact(
    mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.CLINIC_PAYMENT_INSTRUCTIONS = "Pay to IBAN XX00 TEST"
    enrolment = EnrolmentFactory(contract__anchor__name="Hill Farmers")
    with django_capture_on_commit_callbacks(execute=True):
        services.invoice_run(period=MARCH, today=RUN_DAY)
    invoice = Invoice.objects.get()
    text = pdf_text(invoice.pdf.read())
    for expected in (
        settings.CLINIC_NAME,
        "Hill Farmers",
        invoice.number,
        "1 May 2026",  # due date
        enrolment.member.full_name,
        "€30.00",
        "Pay to IBAN XX00 TEST",
    ):
        assert expected in text
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [enrolment.contract.anchor.billing_contact_email]
    assert invoice.number in message.subject
    (filename, content, _mimetype) = message.attachments[0]
    assert filename == f"invoice-{invoice.number}.pdf"
    assert invoice.number in pdf_text(content)
    email = InvoiceEmail.objects.get(invoice=invoice)
    assert (email.status, email.attempts) == (DeliveryStatus.SENT, 1)


@pytest.mark.django_db
def test_delivery_is_idempotent(mailoutbox):
    invoice = contract_invoice()
    deliver_invoice(invoice.pk)
    deliver_invoice(invoice.pk)
    email = InvoiceEmail.objects.get(invoice=invoice, kind=EmailKind.INVOICE)
    send_invoice_email(email.pk)
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_delivery_repeated_after_the_email_was_sent_sends_nothing_more(
    mailoutbox, django_capture_on_commit_callbacks
):
    # The email row is inserted without a read first: a repeat meets the unique constraint
    # and finds the sent email, which is not queued again.
    invoice = contract_invoice()
    with django_capture_on_commit_callbacks(execute=True):
        deliver_invoice(invoice.pk)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        deliver_invoice(invoice.pk)
    assert callbacks == []
    assert len(mailoutbox) == 1
    assert InvoiceEmail.objects.get(invoice=invoice).status == DeliveryStatus.SENT


@pytest.mark.django_db
def test_each_email_says_what_is_due_when_it_is_sent(mailoutbox):
    invoice = contract_invoice()
    deliver_invoice(invoice.pk)
    send_invoice_email(InvoiceEmail.objects.get(invoice=invoice).pk)
    assert "still due" not in mailoutbox[0].body
    services.payment_record(
        invoice=invoice, amount=Decimal("40.00"), paid_on=RUN_DAY, method="transfer"
    )
    reminder = InvoiceEmail.objects.create(
        invoice=invoice, kind=EmailKind.REMINDER, reminder_step=5, recipient="a@example.org"
    )
    send_invoice_email(reminder.pk)
    assert "The amount still due is €60.00." in mailoutbox[1].body


@pytest.mark.django_db
def test_a_failing_mail_server_is_retried_and_every_attempt_is_recorded(settings, client):
    from django.urls import reverse

    from clinic.roles import Role
    from tests.factories import user_with_role

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    invoice = contract_invoice()
    services.invoice_render_pdf(invoice_id=invoice.pk)
    email = InvoiceEmail.objects.create(
        invoice=invoice, kind=EmailKind.INVOICE, recipient=invoice.bill_to_email
    )
    # The task asks Celery for a retry (with backoff) instead of failing for good.
    with pytest.raises(Retry):
        send_invoice_email.apply(args=[email.pk])
    email.refresh_from_db()
    assert (email.status, email.attempts) == (DeliveryStatus.FAILED, 1)
    assert "refused" in email.last_error.lower()
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    page = client.get(reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()
    assert "Failed, retrying" in page
    assert email.last_error[:20] in page
    # The mail server is back: the retry sends it and the attempts add up.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    send_invoice_email.apply(args=[email.pk])
    email.refresh_from_db()
    assert (email.status, email.attempts, email.last_error) == (DeliveryStatus.SENT, 2, "")


@pytest.mark.django_db
def test_credit_note_pdf_names_the_invoice_it_corrects(
    mailoutbox, django_capture_on_commit_callbacks
):
    from decimal import Decimal

    invoice = contract_invoice()
    with django_capture_on_commit_callbacks(execute=True):
        note = services.credit_note_issue(
            invoice=invoice, amount=Decimal("12.50"), reason="Duplicate line", today=RUN_DAY
        )
    note.refresh_from_db()
    text = pdf_text(note.pdf.read())
    assert note.number in text
    assert invoice.number in text
    assert "12.50" in text
    assert "Duplicate line" in text
    assert mailoutbox[-1].attachments[0][0] == f"credit-note-{note.number}.pdf"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_invoice_run_through_the_real_worker_mails_the_pdf(celery_worker, mailbox):
    from billing.tasks import run_invoicing

    enrolment = EnrolmentFactory(contract__anchor__name="Worker Valley Growers")
    result = run_invoicing.delay(MARCH.isoformat(), None, True)
    assert result.get(timeout=60) == 1
    messages = mailbox.wait_for(1)
    assert len(messages) == 1
    message = messages[0]
    invoice = Invoice.objects.get(contract=enrolment.contract)
    assert message["To"] == enrolment.contract.anchor.billing_contact_email
    assert invoice.number in message["Subject"]
    attachment = next(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    text = pdf_text(attachment.get_content())
    assert invoice.number in text
    assert "Worker Valley Growers" in text
    email = InvoiceEmail.objects.get(invoice=invoice)
    assert email.status == DeliveryStatus.SENT
    assert invoice.pdf


@pytest.mark.django_db
def test_the_last_failed_attempt_is_recorded_as_failed_for_good(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    invoice = contract_invoice()
    email = InvoiceEmail.objects.create(
        invoice=invoice, kind=EmailKind.INVOICE, recipient=invoice.bill_to_email
    )
    with pytest.raises(OSError):
        send_invoice_email.apply(args=[email.pk], retries=send_invoice_email.max_retries)
    email.refresh_from_db()
    assert email.status == DeliveryStatus.GAVE_UP


@pytest.mark.django_db
def test_the_periodic_tasks_invoice_the_month_and_follow_up(mailoutbox, settings):
    from billing.tasks import mark_overdue_and_remind, run_monthly_invoicing

    settings.CLINIC_REMINDER_STEPS_DAYS = [1]
    EnrolmentFactory()
    assert run_monthly_invoicing.delay("2024-02-01").get()["issued"] == 1
    assert run_monthly_invoicing.delay("2024-02-01").get()["issued"] == 0
    invoice = Invoice.objects.get()
    # The invoice is dated today: nothing is overdue yet.
    assert tuple(mark_overdue_and_remind.delay().get()) == (0, 0)
    assert invoice.period == D(2024, 2, 1)


def _reads_and_writes(queries) -> tuple[int, int]:
    # Savepoints are the test's own transaction around the worker's (outermost) ones.
    sql = [q["sql"].lstrip().upper() for q in queries]
    sql = [s for s in sql if "SAVEPOINT" not in s.split(" ", 2)[:2]]
    reads = sum(1 for s in sql if s.startswith("SELECT"))
    return reads, len(sql) - reads


@pytest.mark.django_db
@pytest.mark.parametrize("covered", [1, 40])
def test_delivering_an_invoice_reads_it_in_three_queries_whatever_its_size(
    covered, mailoutbox, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from billing.tasks import deliver_invoices
    from tests.billing.factories import ContractFactory

    contract = ContractFactory()
    for _ in range(covered):
        EnrolmentFactory(contract=contract)
    services.invoice_run(period=MARCH, today=RUN_DAY, contract_ids=[contract.pk])
    invoice = Invoice.objects.get(contract=contract)
    services.payment_record(
        invoice=invoice, amount=invoice.total / 2, paid_on=RUN_DAY, method="transfer"
    )
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        deliver_invoices([invoice.pk])
    # Reads: the invoice with its payer, amounts and email; its lines; the email row when
    # it is sent. Writes: the stored PDF, the email row, and clinic.delivery's claim and
    # record of the send.
    assert _reads_and_writes(queries.captured_queries) == (3, 4), [
        q["sql"][:80] for q in queries.captured_queries
    ]
    assert len(mailoutbox) == 1
    email = InvoiceEmail.objects.get(invoice=invoice)
    assert (email.status, email.attempts) == (DeliveryStatus.SENT, 1)
    # The PDF is the invoice as issued; the email says what is still due now.
    assert "Paid" not in pdf_text(Invoice.objects.get(pk=invoice.pk).pdf.read())
    assert "The amount still due is" in mailoutbox[0].body
