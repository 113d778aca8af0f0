"""The clinic's outgoing email: a plain-text body with an HTML alternative on the letterhead.

Every message the clinic sends is built here, so each one has both parts: the text part
from the kind's existing ``.txt`` template, the HTML part from its ``.html`` template,
which extends ``email/base.html`` (the clinic's name and address, and a footer). Links in
both are absolute (``clinic.links.absolute``): a mail reader has no page to resolve
"/care/..." against. The HTML carries inline styles only and loads nothing from outside.

Mail to many members at once (meeting notices, ballot mail) is rendered once per
language with ``BulkEmail``: the members' copies differ only by their name.
"""

import secrets

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.html import escape
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


class _Addressee:
    """Stands in for the member while a ``BulkEmail`` is rendered: only the name is known."""

    def __init__(self, full_name: str) -> None:
        self.full_name = full_name


class BulkEmail:
    """One email to many members, rendered once in the active language.

    The templates may use ``member.full_name`` and nothing else of the member: they are
    rendered with a stand-in whose name is a random token, and each member's copy puts
    their name in its place (HTML-escaped in the HTML part, as the template would).
    """

    def __init__(
        self, *, subject_template: str, text_template: str, html_template: str, context: dict
    ) -> None:
        # Random, so no meeting title or agenda item can contain it.
        self._name = f"addressee-{secrets.token_hex(16)}"
        context = {**letterhead_context(), **context, "member": _Addressee(self._name)}
        self.subject = render_to_string(subject_template, context).strip()
        self.text = render_to_string(text_template, context)
        self.html = render_to_string(html_template, context)

    def message(
        self, *, name: str, to: list[str], headers: dict | None = None
    ) -> EmailMultiAlternatives:
        """The copy addressed to ``to``, with ``name`` where the template has the member's."""
        message = EmailMultiAlternatives(
            subject=self.subject.replace(self._name, name),
            body=self.text.replace(self._name, name),
            to=to,
            headers=headers,
        )
        message.attach_alternative(self.html.replace(self._name, escape(name)), "text/html")
        return message
