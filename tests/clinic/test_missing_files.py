"""A stored file gone from storage never gives a 500 (issue 11): every download view
answers 404, and a document the clinic can render again (invoice, credit note, share
certificate) is queued for rendering, the page says so, and the next download works."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing import services as billing
from billing.models import CreditNote, FederationStatementDocument, InvoiceEmail
from clinic.roles import Role
from governance.models import Ballot, BallotStatus, MeetingDocument, PostalNoticeBatch
from members import services as members
from members.models import RegisterExport, ShareCertificate
from tests.billing.helpers import contract_invoice
from tests.factories import user_with_role
from tests.governance.factories import MeetingFactory, motion
from tests.members.factories import MemberFactory, ShareClassFactory, holding
from tests.pdf import pdf_text

pytestmark = pytest.mark.django_db

GONE = "this-file-is-not-in-storage.pdf"


@pytest.fixture
def admin(client):
    user = user_with_role(Role.ADMINISTRATOR)
    client.force_login(user)
    return user


def _lose(field_file) -> None:
    field_file.storage.delete(field_file.name)
    assert not field_file.storage.exists(field_file.name)


def _assert_regenerated(client, url, django_capture_on_commit_callbacks, expected_text):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(url)
    assert response.status_code == 404
    assert "being prepared again" in response.content.decode()
    again = client.get(url)
    assert again.status_code == 200
    assert expected_text in pdf_text(b"".join(again.streaming_content))


def test_a_lost_invoice_pdf_is_rendered_again_without_mailing_it_twice(
    client, admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invoice = contract_invoice()
    invoice.refresh_from_db()
    emails = InvoiceEmail.objects.count()
    _lose(invoice.pdf)
    url = reverse("billing:invoice_pdf", args=[invoice.pk])
    _assert_regenerated(client, url, django_capture_on_commit_callbacks, invoice.number)
    assert InvoiceEmail.objects.count() == emails


def test_a_lost_credit_note_pdf_is_rendered_again(
    client, admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invoice = contract_invoice()
        billing.credit_note_issue(invoice=invoice, amount=Decimal("5.00"), reason="Goodwill")
    note = CreditNote.objects.get()
    _lose(note.pdf)
    url = reverse("billing:credit_note_pdf", args=[note.pk])
    _assert_regenerated(client, url, django_capture_on_commit_callbacks, note.number)


def test_a_lost_share_certificate_is_rendered_again(client, django_capture_on_commit_callbacks):
    member = MemberFactory()
    share_class = ShareClassFactory()
    holding(member, share_class, 2)
    with django_capture_on_commit_callbacks(execute=True):
        members.share_certificate_for(member=member, share_class=share_class)
    certificate = ShareCertificate.objects.get()
    _lose(certificate.file)
    client.force_login(member.user)
    url = reverse("members:certificate_download", args=[certificate.pk])
    _assert_regenerated(client, url, django_capture_on_commit_callbacks, certificate.number)


def _federation_url(admin) -> str:
    document = FederationStatementDocument.objects.create(
        month=datetime.date(2026, 3, 1), status="ready", pdf=GONE, requested_at=timezone.now()
    )
    return reverse("billing:federation_pdf") + f"?month={document.month:%Y-%m}"


def _register_export_url(admin) -> str:
    export = RegisterExport.objects.create(requested_by=admin, file=GONE)
    return reverse("members:register_export_download", args=[export.pk])


def _meeting_document_url(admin) -> str:
    document = MeetingDocument.objects.create(meeting=MeetingFactory(), title="Accounts", file=GONE)
    return reverse("governance:document_download", args=[document.meeting_id, document.pk])


def _postal_notices_url(admin) -> str:
    batch = PostalNoticeBatch.objects.create(meeting=MeetingFactory(), pdf=GONE, letters=3)
    return reverse("governance:postal_notices_pdf", args=[batch.meeting_id, batch.pk])


def _ballot_results_url(admin) -> str:
    ballot = motion()
    Ballot.objects.filter(pk=ballot.pk).update(status=BallotStatus.CLOSED, results_pdf=GONE)
    return reverse("governance:ballot_results_pdf", args=[ballot.pk])


@pytest.mark.parametrize(
    "address",
    [
        _federation_url,
        _register_export_url,
        _meeting_document_url,
        _postal_notices_url,
        _ballot_results_url,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_a_stored_file_gone_from_storage_is_a_404(client, admin, address):
    response = client.get(address(admin))
    assert response.status_code == 404
