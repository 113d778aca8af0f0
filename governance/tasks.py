"""Governance's background work: thin tasks that take ids and call a service."""

from smtplib import SMTPException

from celery import shared_task

from governance import services


@shared_task
def dispatch_meeting_notice(meeting_id: int) -> None:
    services.notice_dispatch(meeting_id=meeting_id)


@shared_task(
    bind=True,
    autoretry_for=(SMTPException, OSError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
)
def send_notice_chunk(self, meeting_id: int, delivery_ids: list[int]) -> int:
    failed = services.notice_send_chunk(meeting_id=meeting_id, delivery_ids=delivery_ids)
    if failed:
        # Retrying the chunk resends only the deliveries still unsent.
        raise SMTPException(f"{failed} notice(s) of meeting {meeting_id} could not be sent")
    return len(delivery_ids)


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
