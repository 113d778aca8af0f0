from celery import shared_task

from careteam import services
from clinic.delivery import MAIL_RETRIES, MAIL_TASK_OPTIONS


@shared_task(**MAIL_TASK_OPTIONS)
def send_notification_email(self, notification_id: int) -> str:
    return services.notification_email_send(
        notification_id=notification_id, final_attempt=self.request.retries >= MAIL_RETRIES
    )


@shared_task(**MAIL_TASK_OPTIONS)
def send_interest_answer(self, answer_id: int) -> str:
    return services.interest_answer_send(
        answer_id=answer_id, final_attempt=self.request.retries >= MAIL_RETRIES
    )
