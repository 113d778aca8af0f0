"""Mail and documents of the member register, sent and rendered by Celery workers."""

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from celery import shared_task
from django.urls import reverse

from clinic.delivery import MAIL_TASK_OPTIONS
from members import services


def set_password_url(user, base_url: str) -> str:
    """A one-time link to allauth's set-password page (its password-reset-from-key route).

    The token is allauth's own, so it stops working once the password is set.
    """
    key = f"{user_pk_to_url_str(user)}-{default_token_generator.make_token(user)}"
    path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
    return base_url.rstrip("/") + path.replace("UID-KEY", key)


@shared_task(**MAIL_TASK_OPTIONS)
def send_member_email(self, email_id: int) -> None:
    """Send one welcome, rejection or "already registered" email at most once."""
    services.member_email_send(
        email_id=email_id, final_attempt=self.request.retries >= self.max_retries
    )


@shared_task
def render_share_certificate(certificate_id: int) -> None:
    services.share_certificate_render(certificate_id=certificate_id)


@shared_task
def render_register_pdf(export_id: int) -> None:
    services.register_export_render(export_id=export_id)


@shared_task(**MAIL_TASK_OPTIONS)
def send_orientation_confirmation(self, registration_id: int) -> None:
    """Send one orientation registration's confirmation (with its .ics) at most once."""
    services.orientation_confirmation_send(
        registration_id=registration_id, final_attempt=self.request.retries >= self.max_retries
    )
