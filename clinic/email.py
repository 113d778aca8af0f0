"""The clinic's outgoing email: a plain-text body with an HTML alternative on the letterhead.

Every message the clinic sends is built here, so each one has both parts: the text part
from the kind's existing ``.txt`` template, the HTML part from its ``.html`` template,
which extends ``email/base.html`` (the clinic's name and address, and a footer). Links in
both are absolute (``clinic.links.absolute``): a mail reader has no page to resolve
"/care/..." against. The HTML carries inline styles only and loads nothing from outside.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.translation import get_language

from clinic.links import site_url


def letterhead_context() -> dict:
    """What ``email/base.html`` needs: the clinic's identity and its public address."""
    return {
        "CLINIC_NAME": settings.CLINIC_NAME,
        "CLINIC_ADDRESS": settings.CLINIC_ADDRESS,
        "SITE_URL": site_url(),
        # The message's language (rendered outside a request, so no context processor).
        "LANGUAGE_CODE": get_language() or settings.LANGUAGE_CODE,
    }


def clinic_email(
    *,
    subject: str,
    text_template: str,
    html_template: str,
    context: dict,
    to: list[str],
    connection=None,
    headers: dict | None = None,
) -> EmailMultiAlternatives:
    """A message with a text/plain body and a text/html alternative, rendered in the
    active language from the two templates with the same context."""
    context = {**letterhead_context(), **context}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(text_template, context),
        to=to,
        connection=connection,
        headers=headers,
    )
    message.attach_alternative(render_to_string(html_template, context), "text/html")
    return message
