"""``BulkEmail``: one rendering for many members; each copy written out byte for byte as
Django writes the same email built on its own, though the shared attachments' bytes and
the subject's encoding are made once."""

from email import message_from_bytes
from email.generator import BytesGenerator
from email.header import decode_header, make_header
from email.mime.application import MIMEApplication
from email.mime.text import MIMEText
from io import BytesIO

import pytest
from django.core.mail import EmailMultiAlternatives

from clinic.email import BulkEmail


def standard_bytes(message, linesep: str) -> bytes:
    """What Django's own generator writes for the same MIME message."""
    fp = BytesIO()
    BytesGenerator(fp, mangle_from_=False).flatten(message, linesep=linesep)
    return fp.getvalue()


@pytest.mark.parametrize("linesep", ["\n", "\r\n"])  # as_bytes(), the SMTP backend's
def test_each_copy_is_written_as_the_standard_generator_writes_it(linesep):
    pdf = bytes(range(256)) * 40
    calendar = MIMEText("BEGIN:VCALENDAR\nEND:VCALENDAR\n", "calendar", "utf-8")
    attachment = MIMEApplication(pdf, "pdf")
    attachment.add_header("Content-Disposition", "attachment", filename="notice.pdf")
    bulk = BulkEmail(
        subject_template="governance/email/notice_subject.txt",
        text_template="governance/email/notice_body.txt",
        html_template="governance/email/notice_body.html",
        context={
            "meeting": None,
            "agenda": [],
            "ballots": [],
            "CLINIC_NAME": "Clinic — Riverside",
        },
        attachments=[calendar, attachment],
    )
    for name in ("Ana Lima", "Bo <b> & Co"):
        address = f"{name[:2]}@example.org"
        # Fixed, so that the copy and the email built on its own can be compared.
        headers = {"Date": "Fri, 04 Dec 2026 10:00:00 -0000", "Message-ID": "<1@clinic>"}
        copy = bulk.message(name=name, to=[address], headers=headers)
        message = copy.message()
        written = message.as_bytes(linesep=linesep)
        # The second copy reuses the attachments' bytes written for the first.
        assert written == standard_bytes(message, linesep)
        alone = EmailMultiAlternatives(
            subject=copy.subject,
            body=copy.body,
            to=[address],
            headers=headers,
            attachments=[calendar, attachment],
        )
        alone.attach_alternative(copy.alternatives[0].content, "text/html")
        reference = alone.message()
        for ours, theirs in zip(
            [m for m in message.walk() if m.is_multipart()],
            [m for m in reference.walk() if m.is_multipart()],
            strict=True,
        ):
            theirs.set_boundary(ours.get_boundary())
        assert written == standard_bytes(reference, linesep)
        parsed = message_from_bytes(written.replace(b"\r\n", b"\n"))
        parts = {part.get_content_type(): part for part in parsed.walk()}
        assert parts["application/pdf"].get_payload(decode=True) == pdf
        assert name in parts["text/plain"].get_payload(decode=True).decode()
        assert (
            parts["text/html"]
            .get_payload(decode=True)
            .decode()
            .count("Bo &lt;b&gt; &amp; Co" if "&" in name else name)
        )
        assert "Clinic — Riverside" in str(make_header(decode_header(parsed["Subject"])))
