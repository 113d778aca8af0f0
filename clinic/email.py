"""The clinic's outgoing email: a plain-text body with an HTML alternative on the letterhead.

Every message the clinic sends is built here, so each one has both parts: the text part
from the kind's existing ``.txt`` template, the HTML part from its ``.html`` template,
which extends ``email/base.html`` (the clinic's name and address, and a footer). Links in
both are absolute (``clinic.links.absolute``): a mail reader has no page to resolve
"/care/..." against. The HTML carries inline styles only and loads nothing from outside.

Mail to many members at once (meeting notices, ballot mail) is rendered once per
language with ``BulkEmail``: the members' copies differ only by their name, and share
their attachments, which are written out once.
"""

import secrets
from email.generator import BytesGenerator
from email.mime.base import MIMEBase
from io import BytesIO

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import SafeMIMEMultipart, forbid_multi_line_headers
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


class _SharedPartsGenerator(BytesGenerator):
    """Writes the attachments a ``BulkEmail``'s copies share from the bytes the standard
    generator wrote for them the first time: their headers are folded and their encoded
    lines split once, not once per copy. Everything else is written as usual."""

    def _write(self, msg) -> None:
        written = getattr(msg, "_clinic_written", None)
        if written is None:
            super()._write(msg)
            return
        if self._NL not in written:
            fp = BytesIO()
            BytesGenerator(fp, mangle_from_=False).flatten(msg, linesep=self._NL)
            written[self._NL] = fp.getvalue()
        self._fp.write(written[self._NL])


class _BulkMultipart(SafeMIMEMultipart):
    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        fp = BytesIO()
        generator = _SharedPartsGenerator(fp, mangle_from_=False)
        generator.flatten(self, unixfrom=unixfrom, linesep=linesep)
        return fp.getvalue()


class _BulkMessage(EmailMultiAlternatives):
    """A ``BulkEmail`` copy: its text and HTML, then the shared attachments."""

    def __init__(self, *, boundary: str, encoded_subjects: dict[str, str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.boundary = boundary
        self.encoded_subjects = encoded_subjects

    def message(self):
        # Django encodes a subject that is not ASCII for each message, a third of the cost
        # of writing a copy out: the copies share theirs, encoded once, the same way.
        subject = self.subject
        if subject not in self.encoded_subjects:
            self.encoded_subjects[subject] = forbid_multi_line_headers(
                "Subject", subject, self.encoding
            )[1]
        self.subject = ""
        try:
            msg = super().message()
        finally:
            self.subject = subject
        msg.replace_header("Subject", self.encoded_subjects[subject])
        return msg

    def _create_attachments(self, msg):
        # Fixed boundaries: a random one costs the generator a regular expression compiled
        # per message to check it against the text. This one is random per BulkEmail, so
        # no content contains it.
        msg.set_boundary(f"{self.boundary}.alternative")
        if not self.attachments:
            return msg
        mixed = _BulkMultipart(
            _subtype=self.mixed_subtype,
            boundary=f"{self.boundary}.mixed",
            encoding=self.encoding or settings.DEFAULT_CHARSET,
        )
        mixed.attach(msg)
        for part in self.attachments:
            mixed.attach(part)
        return mixed


class BulkEmail:
    """One email to many members, rendered once in the active language.

    The templates may use ``member.full_name`` and nothing else of the member: they are
    rendered with a stand-in whose name is a random token, and each member's copy puts
    their name in its place (HTML-escaped in the HTML part, as the template would).
    ``attachments`` are shared by the copies, which only read them.
    """

    def __init__(
        self,
        *,
        subject_template: str,
        text_template: str,
        html_template: str,
        context: dict,
        attachments: list[MIMEBase] | None = None,
    ) -> None:
        token = secrets.token_hex(16)
        # Random, so no meeting title or agenda item can contain it.
        self._name = f"addressee-{token}"
        self._boundary = f"==bulk-{token}"
        self._encoded_subjects: dict[str, str] = {}
        context = {**letterhead_context(), **context, "member": _Addressee(self._name)}
        self.subject = render_to_string(subject_template, context).strip()
        self.text = render_to_string(text_template, context)
        self.html = render_to_string(html_template, context)
        self.attachments = list(attachments or [])
        for part in self.attachments:
            part._clinic_written = {}

    def message(
        self, *, name: str, to: list[str], headers: dict | None = None
    ) -> EmailMultiAlternatives:
        """The copy addressed to ``to``, with ``name`` where the template has the member's."""
        message = _BulkMessage(
            boundary=self._boundary,
            encoded_subjects=self._encoded_subjects,
            subject=self.subject.replace(self._name, name),
            body=self.text.replace(self._name, name),
            to=to,
            headers=headers,
            attachments=self.attachments,
        )
        message.attach_alternative(self.html.replace(self._name, escape(name)), "text/html")
        return message
