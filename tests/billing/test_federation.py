"""The federation contribution statement: figures on the page, the PDF prepared in the worker."""

import datetime
import time
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from billing import services
from billing.models import FederationStatementDocument, StatementStatus
from billing.tasks import render_federation_statement
from clinic.roles import Role
from tests.billing.helpers import contract_invoice
from tests.factories import user_with_role
from tests.pdf import pdf_text

D = datetime.date
APRIL = D(2026, 4, 1)


@pytest.fixture
def admin(client):
    user = user_with_role(Role.ADMINISTRATOR)
    client.force_login(user)
    return user


def paid_in_april(amount: Decimal) -> None:
    invoice = contract_invoice(rate=amount)
    services.payment_record(invoice=invoice, amount=amount, paid_on=D(2026, 4, 10), method="cash")


@pytest.mark.django_db
def test_administrator_asks_for_the_pdf_and_downloads_it_when_ready(
    admin, client, settings, django_capture_on_commit_callbacks
):
    settings.CLINIC_FEDERATION_PERCENT = Decimal("2.50")
    paid_in_april(Decimal("333.33"))
    page = client.get(reverse("billing:federation_statement"), {"month": "2026-04"})
    html = page.content.decode()
    assert "333.33" in html and "8.33" in html
    assert "No PDF has been prepared for this month yet." in html
    pdf_url = reverse("billing:federation_pdf")
    assert client.get(pdf_url, {"month": "2026-04"}).status_code == 404

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("billing:federation_request"), {"month": "2026-04"})
    assert response.status_code == 302
    assert response["Location"].endswith("?month=2026-04")

    document = FederationStatementDocument.objects.get()
    assert document.month == APRIL
    assert document.status == StatementStatus.READY
    assert document.requested_by == admin
    html = client.get(response["Location"]).content.decode()
    assert "Ready" in html
    assert f"{pdf_url}?month=2026-04" in html
    download = client.get(pdf_url, {"month": "2026-04"})
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert 'filename="federation-2026-04.pdf"' in download["Content-Disposition"]
    text = pdf_text(b"".join(download.streaming_content))
    assert "Federation contribution statement" in text
    assert "333.33" in text and "8.33" in text and "2.50%" in text


@pytest.mark.django_db
def test_the_request_is_only_queued_in_the_request_and_the_panel_polls_until_ready(
    admin, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(reverse("billing:federation_request"), {"month": "2026-04"})
    document = FederationStatementDocument.objects.get()
    assert document.status == StatementStatus.QUEUED and not document.pdf
    assert len(callbacks) == 1
    panel = client.get(
        reverse("billing:federation_statement"), {"month": "2026-04"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<h1>" not in panel
    assert 'hx-trigger="every 3s"' in panel
    assert "Being prepared" in panel
    callbacks[0]()
    panel = client.get(
        reverse("billing:federation_statement"), {"month": "2026-04"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "hx-trigger" not in panel
    assert "Download the statement (PDF)" in panel


@pytest.mark.django_db
def test_one_statement_per_month_however_often_it_is_asked_for(
    admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = services.federation_statement_request(month=D(2026, 4, 17), actor=admin)
        again = services.federation_statement_request(month=APRIL, actor=admin)
    assert first.pk == again.pk
    assert FederationStatementDocument.objects.count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        FederationStatementDocument.objects.create(month=APRIL, requested_at=first.requested_at)


@pytest.mark.django_db
def test_a_duplicate_or_retried_task_keeps_the_rendered_pdf(admin):
    document = services.federation_statement_request(month=APRIL, actor=admin)
    render_federation_statement.delay(document.pk)
    document.refresh_from_db()
    name, rendered_at = document.pdf.name, document.rendered_at
    render_federation_statement.delay(document.pk)
    document.refresh_from_db()
    assert (document.pdf.name, document.rendered_at) == (name, rendered_at)
    assert document.status == StatementStatus.READY


@pytest.mark.django_db
def test_asking_again_renders_the_figures_as_they_are_now(admin, settings):
    settings.CLINIC_FEDERATION_PERCENT = Decimal("10")
    paid_in_april(Decimal("100.00"))
    document = services.federation_statement_request(month=APRIL, actor=admin)
    services.federation_statement_render(document_id=document.pk)
    document.refresh_from_db()
    old_name = document.pdf.name
    assert "100.00" in pdf_text(document.pdf.read())

    paid_in_april(Decimal("50.00"))  # a late-recorded payment for April
    services.federation_statement_request(month=APRIL, actor=admin)
    services.federation_statement_render(document_id=document.pk)
    document.refresh_from_db()
    text = pdf_text(document.pdf.read())
    assert "150.00" in text and "15.00" in text
    # The superseded rendering is not kept.
    assert not document.pdf.storage.exists(old_name) or old_name == document.pdf.name


@pytest.mark.django_db
def test_a_failed_rendering_is_recorded_and_shown(admin, client, settings):
    settings.CLINIC_FEDERATION_PERCENT = "not a number"
    document = services.federation_statement_request(month=APRIL, actor=admin)
    with pytest.raises(ArithmeticError):
        services.federation_statement_render(document_id=document.pk)
    document.refresh_from_db()
    assert document.status == StatementStatus.FAILED
    assert document.last_error
    assert not document.pdf
    settings.CLINIC_FEDERATION_PERCENT = Decimal("2.00")
    html = client.get(
        reverse("billing:federation_statement"), {"month": "2026-04"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Failed" in html
    assert "Prepare the PDF again" in html


@pytest.mark.django_db
def test_a_bad_month_changes_nothing(admin, client):
    response = client.post(reverse("billing:federation_request"), {"month": "April"})
    assert response.status_code == 302
    assert not FederationStatementDocument.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role", [Role.MEMBER, Role.CLINICIAN, Role.HUB_COORDINATOR, Role.ANCHOR_CONTACT]
)
def test_only_administrators_ask_for_or_download_the_statement(client, admin, role):
    document = services.federation_statement_request(month=APRIL, actor=admin)
    services.federation_statement_render(document_id=document.pk)
    client.force_login(user_with_role(role))
    assert client.post(reverse("billing:federation_request"), {"month": "2026-04"}).status_code == (
        403
    )
    assert client.get(reverse("billing:federation_pdf"), {"month": "2026-04"}).status_code == 403
    document.refresh_from_db()
    assert document.requested_by == admin


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_statement_pdf_is_rendered_by_the_real_worker(celery_worker, settings):
    admin = user_with_role(Role.ADMINISTRATOR)
    paid_in_april(Decimal("80.00"))
    document = services.federation_statement_request(month=APRIL, actor=admin)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        document.refresh_from_db()
        if document.status != StatementStatus.QUEUED:
            break
        time.sleep(0.2)
    assert document.status == StatementStatus.READY, document.last_error
    text = pdf_text(document.pdf.read())
    assert "Federation contribution statement" in text
    assert "80.00" in text
