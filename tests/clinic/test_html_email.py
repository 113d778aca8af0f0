"""Every kind of email the clinic sends: a text/plain part and a text/html part on the
clinic's letterhead, with absolute links only (a mail reader has no page to resolve
"/care/..." against)."""

import datetime
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from billing import services as billing_services
from billing.models import EmailKind
from careteam.services import consultation_answer, consultation_request
from clinic.roles import Role
from governance import services as governance_services
from members import services as members_services
from tests.arcs.factories import CareSetting, CareTeamAssignmentFactory, discipline
from tests.billing.helpers import contract_invoice, member_invoice
from tests.careteam.factories import PractitionerFactory
from tests.factories import user_with_role
from tests.governance.factories import MeetingFactory, motion
from tests.members.factories import ApplicantFactory, MemberFactory

pytestmark = pytest.mark.django_db

SITE = "https://clinic.example.org"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.sources: list[str] = []
        self.stylesheets = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "href" in attrs:
            self.links.append(attrs["href"])
        if "src" in attrs:
            self.sources.append(attrs["src"])
        if tag == "link" or tag == "style":
            self.stylesheets += 1


def parts(message) -> dict[str, str]:
    """The message as a mail reader sees it: each text part, decoded, by content type."""
    found = {}
    for part in message.message().walk():
        if part.get_content_maintype() == "text" and not part.get_filename():
            found[part.get_content_type()] = part.get_payload(decode=True).decode()
    return found


def assert_letterhead_email(message, settings) -> tuple[str, str]:
    found = parts(message)
    assert set(found) >= {"text/plain", "text/html"}, found.keys()
    text, html = found["text/plain"], found["text/html"]
    # The letterhead: the clinic's name and address, and a footer linking to the site.
    assert settings.CLINIC_NAME in html and settings.CLINIC_ADDRESS in html
    parser = _Links()
    parser.feed(html)
    assert parser.links, "the HTML part has no link"
    # Every link is absolute; the clinic's own are on its public address.
    assert all(re.match(r"https://[^/]+/", link) for link in parser.links), parser.links
    assert any(link.startswith(SITE + "/") for link in parser.links), parser.links
    # Nothing is fetched from outside: no images, no stylesheets, only inline styles.
    assert parser.sources == [] and parser.stylesheets == 0
    for body in (text, html):
        assert not re.search(r'(^|[\s"(])/(care|arcs|members|billing|governance|accounts)/', body)
    return text, html


@pytest.fixture
def site(settings):
    settings.CLINIC_SITE_URL = SITE
    return settings


def test_invoice_reminder_and_credit_note_emails_are_html_with_a_text_part(
    site, django_capture_on_commit_callbacks
):
    invoice = contract_invoice()
    with django_capture_on_commit_callbacks(execute=True):
        billing_services.invoice_deliver(invoice_id=invoice.pk)
        billing_services.invoice_email_queue(invoice=invoice, kind=EmailKind.REMINDER)
        billing_services.credit_note_issue(
            invoice=invoice, amount=Decimal("10.00"), reason="Goodwill"
        )
    kinds = {m.subject.split(" ")[0]: m for m in mail.outbox}
    assert set(kinds) == {"Invoice", "Reminder:", "Credit"}
    for message in mail.outbox:
        text, html = assert_letterhead_email(message, site)
        assert invoice.number in text and invoice.number in html
        # The PDF stays attached beside the two parts.
        assert message.attachments[0][2] == "application/pdf"
        assert SITE + reverse("billing:contract") in html
    text, html = assert_letterhead_email(kinds["Invoice"], site)
    assert "€100.00" in text and "€100.00" in html


def test_member_invoice_email_links_to_my_membership(site, django_capture_on_commit_callbacks):
    invoice = member_invoice()
    with django_capture_on_commit_callbacks(execute=True):
        billing_services.invoice_deliver(invoice_id=invoice.pk)
    (message,) = mail.outbox
    _text, html = assert_letterhead_email(message, site)
    assert SITE + reverse("members:my_membership") in html


def test_consultation_notifications_are_html_with_a_text_part(
    site, django_capture_on_commit_callbacks
):
    care = CareSetting()
    doctor = PractitionerFactory(discipline=discipline("primary-care-medicine"))
    CareTeamAssignmentFactory(member=care.member, practitioner=doctor)
    with django_capture_on_commit_callbacks(execute=True):
        consultation = consultation_request(
            arc=care.arc,
            requested_by=care.clinician,
            to_discipline=doctor.discipline,
            to_practitioner=doctor,
            question="Could the medicines explain it?",
        )
        consultation_answer(consultation=consultation, answered_by=doctor, answer="Possibly.")
    assert len(mail.outbox) == 2
    link = SITE + reverse("careteam:consultation_detail", args=[consultation.pk])
    for message in mail.outbox:
        text, html = assert_letterhead_email(message, site)
        assert link in text and link in html
        assert "medicines" not in html and "Possibly" not in html


def test_meeting_notice_and_ballot_emails_are_html_with_a_text_part(
    site, django_capture_on_commit_callbacks
):
    member = MemberFactory()
    meeting = MeetingFactory(online_link="https://meet.example.org/agm")
    governance_services.agenda_item_add(meeting=meeting, title="Approve the annual accounts")
    with django_capture_on_commit_callbacks(execute=True):
        ballot = governance_services.ballot_open(
            ballot=motion(meeting=meeting, closes_at=timezone.now() + datetime.timedelta(days=5))
        )
        governance_services.meeting_send_notice(meeting=meeting)
        governance_services.ballot_reminders_queue(ballot_id=ballot.pk)
    assert len(mail.outbox) == 3
    assert {m.to[0] for m in mail.outbox} == {member.user.email}
    for message in mail.outbox:
        assert_letterhead_email(message, site)
    notice = next(m for m in mail.outbox if meeting.title in m.subject)
    _text, html = assert_letterhead_email(notice, site)
    assert "Approve the annual accounts" in html
    assert SITE + reverse("governance:meeting_detail", args=[meeting.pk]) in html
    # The PDF notice and the calendar invitation are still attached.
    attached = {part.get_filename() for part in notice.message().walk() if part.get_filename()}
    assert attached == {"notice.pdf", "meeting.ics"}


def test_membership_emails_are_html_with_a_text_part(site, django_capture_on_commit_callbacks):
    admin = user_with_role(Role.ADMINISTRATOR)
    approved, rejected = ApplicantFactory(), ApplicantFactory()
    with django_capture_on_commit_callbacks(execute=True):
        members_services.member_approve(member=approved, by=admin, base_url=SITE + "/")
        members_services.member_reject(member=rejected, by=admin, reason="Outside our area.")
        members_services.member_apply(
            first_name="Ann",
            last_name="Again",
            email=approved.user.email,
            date_of_birth=datetime.date(1980, 1, 1),
            address="2 Commons Lane",
        )
    assert len(mail.outbox) == 3
    for message in mail.outbox:
        assert_letterhead_email(message, site)
    rejection = next(m for m in mail.outbox if m.to == [rejected.user.email])
    assert "Outside our area." in parts(rejection)["text/html"]


def test_password_reset_email_has_the_letterhead_too(site, client):
    user = MemberFactory().user
    client.post(reverse("account_reset_password"), {"email": user.email})
    (message,) = mail.outbox
    found = parts(message)
    assert site.CLINIC_NAME in found["text/html"]
    parser = _Links()
    parser.feed(found["text/html"])
    assert any("/accounts/password/reset/key/" in link for link in parser.links)
    assert all(link.startswith("http") for link in parser.links)


def test_base_url_setting_is_accepted_under_its_other_name():
    from tests.clinic.test_settings import run_python

    probe = "import django; django.setup(); from clinic.links import site_url; print(site_url())"
    result = run_python({"CLINIC_BASE_URL": "https://coop.example.net/"}, "-c", probe)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "https://coop.example.net"
