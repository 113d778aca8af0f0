"""Billing's Celery tasks: thin, take ids, call a service. Schedules live in settings."""

import datetime

from celery import shared_task
from django.utils import timezone

from billing import rules, services
from clinic.celery import DATABASE_ERRORS
from clinic.delivery import MAIL_TASK_OPTIONS


@shared_task
def run_monthly_invoicing(period: str | None = None) -> dict:
    """Periodic (1st of the month): invoice the month just ended. Safe to run again.

    Its report (the task result, also logged and in the billing audit trail) counts the
    invoices issued and lists those held back with the reason.
    """
    today = timezone.localdate()
    month = datetime.date.fromisoformat(period) if period else rules.previous_month(today)
    result = services.invoice_run(period=month, today=today)
    return {"issued": len(result.created), "held": result.problems}


@shared_task
def run_invoicing(period: str, contract_ids: list[int] | None = None, members: bool = True) -> int:
    """On demand, from the "Run invoicing" page."""
    return len(
        services.invoice_run(
            period=datetime.date.fromisoformat(period),
            today=timezone.localdate(),
            contract_ids=contract_ids,
            include_members=members,
        ).created
    )


@shared_task
def prepare_invoice_run_preview(preview_id: int) -> None:
    """Draft a run for the "Run invoicing" page's preview (stored, shown when ready)."""
    services.invoice_run_preview_prepare(preview_id=preview_id, today=timezone.localdate())


@shared_task
def execute_invoice_run(run_id: int) -> None:
    """A run confirmed on the page; its progress is recorded on the run's row."""
    services.invoice_run_execute(run_id=run_id, today=timezone.localdate())


@shared_task
def mark_overdue_and_remind() -> tuple[int, int]:
    """Periodic (daily): mark invoices overdue and queue one reminder per overdue step."""
    return services.invoices_mark_overdue_and_remind(today=timezone.localdate())


@shared_task
def deliver_invoice(invoice_id: int) -> None:
    """Render and store the invoice's PDF in the worker, then queue its email."""
    services.invoice_deliver(invoice_id=invoice_id)


@shared_task(acks_late=True)
def deliver_invoices(invoice_ids: list[int]) -> None:
    """Fan a committed batch of the invoice run out to one delivery task per invoice.

    Each delivery is idempotent (a stored PDF is kept, the email row is created once and
    sent at most once), so a fan-out repeated after a worker died sends nothing twice.
    """
    for pk in invoice_ids:
        deliver_invoice.delay(pk)


@shared_task
def render_invoice_pdf(invoice_id: int) -> None:
    """Render a PDF lost from storage again (no email: it was sent with the first)."""
    services.invoice_render_pdf(invoice_id=invoice_id)


@shared_task
def render_credit_note_pdf(credit_note_id: int) -> None:
    services.credit_note_render_pdf(credit_note_id=credit_note_id)


@shared_task
def deliver_credit_note(credit_note_id: int) -> None:
    note = services.credit_note_render_pdf(credit_note_id=credit_note_id)
    services.invoice_email_queue(invoice=note.invoice, kind="credit_note", credit_note=note)


@shared_task(**MAIL_TASK_OPTIONS)
def send_invoice_email(self, email_id: int) -> None:
    """Send one invoice, credit note or reminder email at most once (``clinic.delivery``)."""
    services.invoice_email_send(
        email_id=email_id, final_attempt=self.request.retries >= self.max_retries
    )


@shared_task(
    autoretry_for=(OSError, *DATABASE_ERRORS),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
)
def render_federation_statement(document_id: int) -> None:
    """Render and store a month's federation contribution statement PDF."""
    services.federation_statement_render(document_id=document_id)
