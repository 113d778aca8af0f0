"""Mail and documents of the member register, sent and rendered by Celery workers."""

from smtplib import SMTPException

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from members import services
from members.models import Member, MemberStatus

MAIL_RETRY = {
    "autoretry_for": (SMTPException, OSError),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "max_retries": 5,
}


def _send(template: str, context: dict, *, to: str, language: str) -> None:
    with translation.override(language):
        subject = render_to_string(f"members/email/{template}_subject.txt", context).strip()
        body = render_to_string(f"members/email/{template}.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])


def set_password_url(user, base_url: str) -> str:
    """A one-time link to allauth's set-password page (its password-reset-from-key route).

    The token is allauth's own, so it stops working once the password is set.
    """
    key = f"{user_pk_to_url_str(user)}-{default_token_generator.make_token(user)}"
    path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
    return base_url.rstrip("/") + path.replace("UID-KEY", key)


@shared_task(**MAIL_RETRY)
def send_welcome_email(member_id: int, base_url: str) -> None:
    member = Member.objects.select_related("user").get(pk=member_id)
    if member.status != MemberStatus.ACTIVE:
        return
    context = {
        "member": member,
        "set_password_url": set_password_url(member.user, base_url),
        "CLINIC_NAME": settings.CLINIC_NAME,
    }
    _send("welcome", context, to=member.user.email, language=member.language)


@shared_task(**MAIL_RETRY)
def send_rejection_email(member_id: int) -> None:
    member = Member.objects.select_related("user").get(pk=member_id)
    if member.status != MemberStatus.REJECTED:
        return
    context = {"member": member, "CLINIC_NAME": settings.CLINIC_NAME}
    _send("rejection", context, to=member.user.email, language=member.language)


@shared_task(**MAIL_RETRY)
def send_already_registered_email(user_id: int) -> None:
    user = get_user_model().objects.get(pk=user_id)
    context = {"user": user, "CLINIC_NAME": settings.CLINIC_NAME}
    _send("already_registered", context, to=user.email, language=settings.LANGUAGE_CODE)


@shared_task
def render_share_certificate(certificate_id: int) -> None:
    services.share_certificate_render(certificate_id=certificate_id)


@shared_task
def render_register_pdf(export_id: int) -> None:
    services.register_export_render(export_id=export_id)
