"""Governance's background work: thin tasks that take ids and call a service."""

from smtplib import SMTPException

from celery import shared_task

from clinic.delivery import MAIL_TASK_OPTIONS
from governance import services


def _final(task) -> bool:
    return task.request.retries >= task.max_retries


@shared_task
def dispatch_meeting_notice(meeting_id: int) -> None:
    services.notice_dispatch(meeting_id=meeting_id)


@shared_task(**MAIL_TASK_OPTIONS)
def send_notice_chunk(self, meeting_id: int, delivery_ids: list[int]) -> int:
    final = _final(self)
    failed = services.notice_send_chunk(
        meeting_id=meeting_id, delivery_ids=delivery_ids, final_attempt=final
    )
    if failed and not final:
        # Retrying the chunk resends only the deliveries still sendable (clinic.delivery).
        raise SMTPException(f"{failed} notice(s) of meeting {meeting_id} could not be sent")
    return len(delivery_ids)


@shared_task
def dispatch_ballot_mail(ballot_id: int, kind: str) -> None:
    services.ballot_mail_dispatch(ballot_id=ballot_id, kind=kind)


@shared_task(**MAIL_TASK_OPTIONS)
def send_ballot_mail_chunk(self, ballot_id: int, mail_ids: list[int]) -> int:
    final = _final(self)
    failed = services.ballot_mail_send_chunk(
        ballot_id=ballot_id, mail_ids=mail_ids, final_attempt=final
    )
    if failed and not final:
        raise SMTPException(f"{failed} email(s) of ballot {ballot_id} could not be sent")
    return len(mail_ids)


@shared_task
def remind_ballot_non_voters() -> int:
    return services.ballot_reminders_due()


@shared_task
def render_postal_notices(meeting_id: int) -> int:
    batch = services.postal_notices_render(meeting_id=meeting_id)
    return batch.letters if batch else 0


@shared_task
def render_ballot_results(ballot_id: int) -> None:
    services.ballot_results_render(ballot_id=ballot_id)


@shared_task
def open_and_close_due_ballots() -> tuple[int, int]:
    return services.ballots_open_and_close_due()


@shared_task(acks_late=True)
def flush_ballot_box(ballot_id: int) -> int:
    return services.ballot_box_flush(ballot_id=ballot_id)


@shared_task(acks_late=True)
def flush_ballot_boxes() -> int:
    """Periodic: move pooled choices into the box wherever a batch is waiting."""
    return services.ballot_boxes_flush_due()
