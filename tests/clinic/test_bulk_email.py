"""``BulkEmail``: one rendering for many members, written out as the standard generator
would write each copy, with the shared attachments' bytes written once."""

from email import message_from_bytes
from email.generator import BytesGenerator
from email.mime.application import MIMEApplication
from email.mime.text import MIMEText
from io import BytesIO

import pytest

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
        message = bulk.message(name=name, to=[f"{name[:2]}@example.org"]).message()
        written = message.as_bytes(linesep=linesep)
        # The second copy reuses the attachments' bytes written for the first.
        assert written == standard_bytes(message, linesep)
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
