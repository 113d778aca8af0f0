from celery import shared_task

from careteam import services
from clinic.celery import DATABASE_ERRORS
from clinic.delivery import TRANSIENT_ERRORS

MAX_RETRIES = 5


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(*TRANSIENT_ERRORS, *DATABASE_ERRORS),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=MAX_RETRIES,
)
def send_notification_email(self, notification_id: int) -> str:
    return services.notification_email_send(
        notification_id=notification_id, final_attempt=self.request.retries >= MAX_RETRIES
    )


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(*TRANSIENT_ERRORS, *DATABASE_ERRORS),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=MAX_RETRIES,
)
def send_interest_answer(self, answer_id: int) -> str:
    return services.interest_answer_send(
        answer_id=answer_id, final_attempt=self.request.retries >= MAX_RETRIES
    )
