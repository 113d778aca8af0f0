import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from billing import services
from billing.forms import ROSTER_SALT, default_month
from billing.models import (
    AnchorOrganization,
    ContractStatus,
    CoverEnrolment,
    CreditNote,
    DirectCareContract,
    Invoice,
    InvoiceRun,
    InvoiceStatus,
)
from clinic.roles import Role
from clinic.uploads import sign_preview
from tests.billing.factories import (
    AnchorFactory,
    ContractFactory,
    EnrolmentFactory,
    FeePlanAssignmentFactory,
)
from tests.billing.helpers import MARCH, RUN_DAY, contract_invoice, member_invoice
from tests.careteam.factories import PractitionerFactory
from tests.factories import user_with_role
from tests.members.factories import MemberFactory
from tests.reauth import reauthenticate

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def admin(client):
    user = user_with_role(Role.ADMINISTRATOR)
    client.force_login(user)
    return user


@pytest.fixture
def world():
    """An anchor invoice with its PDF, a member invoice with its PDF, a credit note."""
    anchor_invoice = contract_invoice()
    fee_invoice = member_invoice()
    for invoice in (anchor_invoice, fee_invoice):
        services.invoice_render_pdf(invoice_id=invoice.pk)
    note = services.credit_note_issue(invoice=anchor_invoice, amount=Decimal(1), reason="x")
    services.credit_note_render_pdf(credit_note_id=note.pk)
    contact = user_with_role(Role.ANCHOR_CONTACT)
    anchor_invoice.contract.anchor.contacts.add(contact)
    statement = services.federation_statement_request(month=default_month())
    services.federation_statement_render(document_id=statement.pk)
    return {
        "anchor_invoice": anchor_invoice,
        "fee_invoice": fee_invoice,
        "note": note,
        "contact": contact,
        "contract": anchor_invoice.contract,
        "enrolment": anchor_invoice.contract.enrolments.get(),
    }


ADMIN_PAGES = [
    ("billing:anchor_list", None),
    ("billing:anchor_create", None),
    ("billing:anchor_edit", "anchor"),
    ("billing:contract_list", None),
    ("billing:contract_create", None),
    ("billing:contract_detail", "contract"),
    ("billing:contract_edit", "contract"),
    ("billing:roster_import", "contract"),
    ("billing:value_report", "contract"),
    ("billing:invoice_list", None),
    ("billing:run_invoicing", None),
    ("billing:invoice_detail", "invoice"),
    ("billing:aging_report", None),
    ("billing:aging_report_csv", None),
    ("billing:federation_statement", None),
    ("billing:federation_pdf", None),
]
ADMIN_POSTS = [
    ("billing:payment_create", "invoice"),
    ("billing:credit_note_create", "invoice"),
    ("billing:enrolment_end", "enrolment"),
    ("billing:federation_request", None),
]


def url_for(name, arg, world):
    ids = {
        "anchor": world["contract"].anchor_id,
        "contract": world["contract"].pk,
        "invoice": world["anchor_invoice"].pk,
        "enrolment": world["enrolment"].pk,
    }
    return reverse(name, args=[ids[arg]] if arg else None)


def person(role):
    if role is Role.MEMBER:
        return MemberFactory().user
    if role in (Role.CLINICIAN, Role.HUB_COORDINATOR):
        return PractitionerFactory(user__roles=[role]).user
    return user_with_role(role)


def test_administrator_opens_every_billing_page(admin, client, world):
    for name, arg in ADMIN_PAGES:
        response = client.get(url_for(name, arg, world))
        # The world's contract is active: its edit page sends back to the contract.
        assert response.status_code == (302 if name == "billing:contract_edit" else 200), name


@pytest.mark.parametrize(
    "role", [Role.MEMBER, Role.CLINICIAN, Role.HUB_COORDINATOR, Role.ANCHOR_CONTACT]
)
def test_other_roles_are_refused_every_administration_page(client, world, role):
    client.force_login(person(role))
    for name, arg in ADMIN_PAGES:
        # The value report is open to an anchor's own contacts: another's contract is a 404.
        other_anchors = role is Role.ANCHOR_CONTACT and name == "billing:value_report"
        expected = 404 if other_anchors else 403
        assert client.get(url_for(name, arg, world)).status_code == expected, name
    for name, arg in ADMIN_POSTS:
        assert client.post(url_for(name, arg, world), {}).status_code == 403, name
    contract = world["contract"]
    response = client.post(
        reverse("billing:contract_transition", args=[contract.pk, ContractStatus.ENDED]),
        {"end_date": "2026-12-31"},
    )
    assert response.status_code == 403
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    for name, arg in ADMIN_PAGES:
        assert client.get(url_for(name, arg, world)).status_code == 302, name
    pdf = reverse("billing:invoice_pdf", args=[world["anchor_invoice"].pk])
    assert client.get(pdf).status_code == 302


# --- Documents ---------------------------------------------------------------------------------


def pdf_status(client, invoice) -> int:
    return client.get(reverse("billing:invoice_pdf", args=[invoice.pk])).status_code


def test_administrator_downloads_any_invoice_pdf(admin, client, world):
    response = client.get(reverse("billing:invoice_pdf", args=[world["fee_invoice"].pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert pdf_status(client, world["anchor_invoice"]) == 200


def test_anchor_contact_downloads_only_their_organizations_invoices(client, world):
    client.force_login(world["contact"])
    assert pdf_status(client, world["anchor_invoice"]) == 200
    assert pdf_status(client, world["fee_invoice"]) == 404
    other = contract_invoice()
    services.invoice_render_pdf(invoice_id=other.pk)
    assert pdf_status(client, other) == 404
    note_url = reverse("billing:credit_note_pdf", args=[world["note"].pk])
    assert client.get(note_url).status_code == 200


def test_member_downloads_only_their_own_invoices(client, world):
    client.force_login(world["fee_invoice"].member.user)
    assert pdf_status(client, world["fee_invoice"]) == 200
    assert pdf_status(client, world["anchor_invoice"]) == 404
    assert (
        client.get(reverse("billing:credit_note_pdf", args=[world["note"].pk])).status_code == 404
    )
    other = member_invoice()
    services.invoice_render_pdf(invoice_id=other.pk)
    assert pdf_status(client, other) == 404


def test_covered_member_cannot_download_their_anchors_invoice(client, world):
    client.force_login(world["enrolment"].member.user)
    assert pdf_status(client, world["anchor_invoice"]) == 404


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.HUB_COORDINATOR])
def test_clinicians_cannot_download_invoices(client, world, role):
    client.force_login(person(role))
    assert pdf_status(client, world["anchor_invoice"]) == 404
    assert pdf_status(client, world["fee_invoice"]) == 404


def test_guessed_invoice_ids_are_not_found(admin, client):
    assert pdf_status(client, Invoice(pk=987654)) == 404
    assert client.get(reverse("billing:invoice_detail", args=[987654])).status_code == 404


# --- Anchor contact ----------------------------------------------------------------------------


def test_anchor_contact_sees_their_contracts_headcount_and_invoices(client, world):
    client.force_login(world["contact"])
    page = client.get(reverse("billing:contract")).content.decode()
    assert "<h1>Contract</h1>" in page
    assert world["contract"].reference in page
    assert world["anchor_invoice"].number in page
    assert world["fee_invoice"].number not in page
    detail = client.get(reverse("billing:anchor_contract", args=[world["contract"].pk]))
    assert detail.status_code == 200
    text = detail.content.decode()
    assert "Covered headcount per month" in text
    assert "March 2026" in text
    # Headcounts, not people: the covered members are not named on the contact's pages.
    assert world["enrolment"].member.full_name not in text


def test_anchor_contact_gets_404_for_another_organizations_contract(client, world):
    client.force_login(world["contact"])
    other = ContractFactory()
    assert client.get(reverse("billing:anchor_contract", args=[other.pk])).status_code == 404
    page = client.get(reverse("billing:contract")).content.decode()
    assert other.reference not in page


def test_anchor_contact_without_an_organization_sees_nothing(client, world):
    client.force_login(user_with_role(Role.ANCHOR_CONTACT))
    page = client.get(reverse("billing:contract")).content.decode()
    assert "No contract is linked" in page
    assert world["anchor_invoice"].number not in page


# --- Members -------------------------------------------------------------------------------------


def test_my_membership_lists_own_invoices_and_who_covers_the_member(client, world):
    member = world["enrolment"].member
    fee = world["fee_invoice"]
    client.force_login(fee.member.user)
    page = client.get(reverse("members:my_membership")).content.decode()
    assert fee.number in page
    assert reverse("billing:invoice_pdf", args=[fee.pk]) in page
    assert "Issued" in page
    assert "covered by" not in page
    client.force_login(member.user)
    page = client.get(reverse("members:my_membership")).content.decode()
    assert f"covered by {world['contract'].anchor.name}" in page
    assert world["anchor_invoice"].number not in page


# --- Administration: contracts, cover, roster ---------------------------------------------------


def test_administration_page_has_the_billing_card(admin, client):
    page = client.get(reverse("administration")).content.decode()
    assert reverse("billing:run_invoicing") in page


def test_administrator_creates_an_anchor_with_a_contact_login(admin, client):
    contact = user_with_role(Role.ANCHOR_CONTACT)
    response = client.post(
        reverse("billing:anchor_create"),
        {
            "name": "Coastal NGO",
            "kind": "ngo",
            "billing_contact_name": "Nia",
            "billing_contact_email": "nia@coastal.example",
            "currency": "EUR",
            "contacts": [contact.pk],
        },
    )
    assert response.status_code == 302
    anchor = AnchorOrganization.objects.get(name="Coastal NGO")
    assert list(anchor.contacts.all()) == [contact]


def test_bad_anchor_input_shows_errors_and_saves_nothing(admin, client):
    response = client.post(
        reverse("billing:anchor_create"), {"name": "", "kind": "bank", "currency": "EUR"}
    )
    assert response.status_code == 200
    assert "is-invalid" in response.content.decode()
    assert not AnchorOrganization.objects.exists()


def contract_post(anchor, **overrides):
    data = {
        "anchor": anchor.pk,
        "reference": "NEW-1",
        "start_date": "2026-01-01",
        "rate_per_member_month": "40.00",
        "currency": "EUR",
        "payment_terms_days": 30,
        "billing_day": 1,
    }
    return {**data, **overrides}


def test_contract_is_created_as_draft_and_activated(admin, client):
    anchor = AnchorFactory()
    response = client.post(reverse("billing:contract_create"), contract_post(anchor))
    contract = DirectCareContract.objects.get(reference="NEW-1")
    assert response.url == reverse("billing:contract_detail", args=[contract.pk])
    assert contract.status == ContractStatus.DRAFT
    client.post(reverse("billing:contract_transition", args=[contract.pk, "active"]))
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE


def test_overlapping_active_contracts_for_one_anchor_are_refused(admin, client):
    existing = ContractFactory(start_date=D(2026, 1, 1), end_date=D(2026, 12, 31))
    client.post(
        reverse("billing:contract_create"),
        contract_post(existing.anchor, reference="OVER", start_date="2026-06-01"),
    )
    draft = DirectCareContract.objects.get(reference="OVER")
    response = client.post(
        reverse("billing:contract_transition", args=[draft.pk, "active"]), follow=True
    )
    assert "already has an active contract" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == ContractStatus.DRAFT
    # After the first one ends, a following contract may start.
    services.contract_transition(contract=existing, to="ended", end_date=D(2026, 5, 31))
    services.contract_transition(contract=draft, to="active")
    draft.refresh_from_db()
    assert draft.status == ContractStatus.ACTIVE


def test_bad_contract_input_changes_nothing(admin, client):
    anchor = AnchorFactory()
    response = client.post(
        reverse("billing:contract_create"),
        contract_post(anchor, end_date="2025-01-01", billing_day=31, rate_per_member_month="-1"),
    )
    assert response.status_code == 200
    assert not DirectCareContract.objects.exists()


def test_ending_a_contract_ends_its_open_cover(admin, client):
    enrolment = EnrolmentFactory()
    response = client.post(
        reverse("billing:contract_transition", args=[enrolment.contract.pk, "ended"]),
        {"end_date": "2026-06-30"},
    )
    assert response.status_code == 302
    enrolment.refresh_from_db()
    assert enrolment.covered_to == D(2026, 6, 30)
    assert (
        client.post(
            reverse("billing:contract_transition", args=[enrolment.contract.pk, "active"]),
            follow=True,
        )
        .content.decode()
        .count("cannot become Active")
        == 1
    )


def test_cover_is_added_and_ended_on_the_contract_page(admin, client):
    contract = ContractFactory()
    member = MemberFactory()
    url = reverse("billing:contract_detail", args=[contract.pk])
    response = client.post(url, {"member_number": member.number, "covered_from": "2026-02-10"})
    assert response.status_code == 302
    enrolment = CoverEnrolment.objects.get(contract=contract, member=member)
    client.post(reverse("billing:enrolment_end", args=[enrolment.pk]), {"covered_to": "2026-02-28"})
    enrolment.refresh_from_db()
    assert enrolment.covered_to == D(2026, 2, 28)


def test_overlapping_cover_and_unknown_members_are_refused(admin, client):
    enrolment = EnrolmentFactory()
    url = reverse("billing:contract_detail", args=[enrolment.contract.pk])
    response = client.post(
        url, {"member_number": enrolment.member.number, "covered_from": "2026-02-10"}
    )
    assert "already covered" in response.content.decode()
    response = client.post(url, {"member_number": 99999, "covered_from": "2026-02-10"})
    assert "There is no member number 99999" in response.content.decode()
    response = client.post(
        url, {"member_number": MemberFactory().number, "covered_from": "2023-02-10"}
    )
    assert "cannot start before the contract" in response.content.decode()
    assert CoverEnrolment.objects.count() == 1


def upload(text):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("roster.csv", text.encode(), content_type="text/csv")


def test_roster_import_previews_then_adds_everyone(admin, client):
    contract = ContractFactory()
    first, second = MemberFactory(), MemberFactory()
    url = reverse("billing:roster_import", args=[contract.pk])
    csv_text = (
        "member_number,email,covered_from,covered_to\n"
        f"{first.number},,2026-01-01,\n"
        f",{second.user.email.upper()},2026-02-01,2026-06-30\n"
    )
    preview = client.post(url, {"file": upload(csv_text)})
    assert preview.status_code == 200
    assert first.full_name in preview.content.decode()
    assert not CoverEnrolment.objects.exists()
    response = client.post(
        url, {"preview": preview.context["form"]["preview"].value(), "confirm": "1"}
    )
    assert response.status_code == 302
    assert set(CoverEnrolment.objects.values_list("member", "covered_to")) == {
        (first.pk, None),
        (second.pk, D(2026, 6, 30)),
    }


def test_roster_import_with_errors_names_rows_and_columns_and_adds_nobody(admin, client):
    contract = ContractFactory()
    good = MemberFactory()
    url = reverse("billing:roster_import", args=[contract.pk])
    csv_text = (
        "member_number,covered_from,covered_to\n"
        f"{good.number},2026-01-01,\n"
        "424242,2026-01-01,\n"
        f"{MemberFactory().number},01/02/2026,\n"
        f"{good.number},2026-03-01,\n"
    )
    page = client.post(url, {"file": upload(csv_text)}).content.decode()
    assert "Row 3, member_number: no member number 424242" in page
    assert "Row 4, covered_from: 01/02/2026 is not a date" in page
    assert "Row 5, member_number:" in page and "listed twice" in page
    assert "Nothing was imported" in page
    client.post(url, {"preview": sign_preview(csv_text, salt=ROSTER_SALT), "confirm": "1"})
    assert not CoverEnrolment.objects.exists()


def test_roster_confirmation_imports_only_a_signed_preview(admin, client):
    contract = ContractFactory()
    member = MemberFactory()
    url = reverse("billing:roster_import", args=[contract.pk])
    tampered = f"member_number,covered_from,covered_to\n{member.number},2026-01-01,\n"
    page = client.post(url, {"preview": tampered, "confirm": "1"}).content.decode()
    assert "The preview expired; upload the file again." in page
    assert client.post(url, {"text": tampered, "confirm": "1"}).status_code == 200
    assert not CoverEnrolment.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"member_number,covered_from\n1,2026-01-01\x00\n", "NUL bytes"),
        (b"member_number,covered_from\n" + b"1,2026-01-01\n" * 200, "too large"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
    ],
)
def test_roster_uploads_that_are_not_small_csv_text_get_a_field_error(
    admin, client, settings, content, message
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.CLINIC_IMPORT_MAX_BYTES = 1000
    contract = ContractFactory()
    url = reverse("billing:roster_import", args=[contract.pk])
    response = client.post(url, {"file": SimpleUploadedFile("r.csv", content)})
    assert message in " ".join(response.context["form"].errors["file"])
    assert not CoverEnrolment.objects.exists()


def test_roster_without_the_right_columns_is_refused(admin, client):
    contract = ContractFactory()
    url = reverse("billing:roster_import", args=[contract.pk])
    page = client.post(url, {"file": upload("name,start\nX,2026-01-01\n")}).content.decode()
    assert "member_number (or email)" in page


# --- Administration: invoices ---------------------------------------------------------------


def test_invoice_page_records_a_payment(admin, client):
    invoice = contract_invoice()
    url = reverse("billing:payment_create", args=[invoice.pk])
    response = client.post(
        url, {"amount": "100.00", "paid_on": "2026-04-10", "method": "bank_transfer"}
    )
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    page = client.get(reverse("billing:invoice_detail", args=[invoice.pk])).content.decode()
    assert "Record a payment" not in page


def test_overpayment_on_the_invoice_page_shows_the_message_and_records_nothing(admin, client):
    invoice = contract_invoice()
    url = reverse("billing:payment_create", args=[invoice.pk])
    response = client.post(
        url, {"amount": "150.00", "paid_on": "2026-04-10", "method": "bank_transfer"}
    )
    assert response.status_code == 400
    assert "overpayments are refused" in response.content.decode()
    response = client.post(url, {"amount": "abc", "paid_on": "2999-01-01", "method": "gold"})
    assert response.status_code == 400
    assert not invoice.payments.exists()


def test_invoice_page_issues_a_credit_note(admin, client):
    invoice = contract_invoice()
    url = reverse("billing:credit_note_create", args=[invoice.pk])
    data = {"amount": "100.00", "reason": "Contract signed late"}
    # First what it will do: nothing is issued yet.
    page = client.post(url, data)
    assert page.status_code == 200
    content = page.content.decode()
    assert "Issue the credit note?" in content
    assert invoice.bill_to_email in content and "Contract signed late" in content
    assert 'id="credit-amount"><strong class="text-nowrap">€100.00' in content
    assert not CreditNote.objects.exists()
    reauthenticate(client)
    response = client.post(url, {**data, "confirm": "1"})
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.CREDITED
    note = CreditNote.objects.get()
    assert (note.invoice, note.reason) == (invoice, "Contract signed late")
    # Nothing is left to credit: refused at the first step, with a field error.
    again = client.post(url, {"amount": "1", "reason": "again"})
    assert again.status_code == 400 and "not yet credited" in again.content.decode()
    assert client.post(url, {"amount": "1", "reason": "again", "confirm": "1"}).status_code == 400
    assert CreditNote.objects.count() == 1


def _preview_page(client, data, django_capture_on_commit_callbacks) -> tuple[str, str]:
    """Ask for a preview, let the worker (eager) draft it, and read its page."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("billing:run_invoicing"), data)
    return response.url, client.get(response.url).content.decode()


def test_run_invoicing_previews_then_issues(admin, client, django_capture_on_commit_callbacks):
    enrolment = EnrolmentFactory(contract__rate_per_member_month=Decimal("45.00"))
    data = {"period": "2026-03", "contract": enrolment.contract.pk, "preview": "1"}
    url, page = _preview_page(client, data, django_capture_on_commit_callbacks)
    assert "1 invoice to issue" in page
    assert "€45.00" in page
    assert not Invoice.objects.exists()
    reauthenticate(client)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"confirm": "1"})
    assert response.url == reverse("billing:run_progress", args=[InvoiceRun.objects.get().pk])
    invoice = Invoice.objects.get()
    assert invoice.total == Decimal("45.00")
    assert invoice.pdf


def test_run_preview_counts_the_invoices_and_totals_each_currency(
    admin, client, django_capture_on_commit_callbacks
):
    contract_invoice()  # March is already invoiced for this contract: not counted again
    EnrolmentFactory(contract__rate_per_member_month=Decimal("45.00"))
    EnrolmentFactory(contract__rate_per_member_month=Decimal("30.50"))
    EnrolmentFactory(contract__rate_per_member_month=Decimal("99.99"), contract__currency="USD")
    FeePlanAssignmentFactory(plan__amount=Decimal("20.00"))
    _url, page = _preview_page(
        client,
        {"period": "2026-03", "include_members": "on", "preview": "1"},
        django_capture_on_commit_callbacks,
    )
    assert "4 invoices to issue (3 to anchors, 1 to members)" in page
    assert "1 already invoiced for this period" in page
    totals = re.findall(r'<tr data-currency="(\w{3})">.*?data-total="([\d.]+)"', page)
    assert totals == [("EUR", "95.50"), ("USD", "99.99")]  # 45.00 + 30.50 + 20.00
    assert Invoice.objects.count() == 1


def test_a_month_that_has_not_started_cannot_be_invoiced(admin, client):
    response = client.post(reverse("billing:run_invoicing"), {"period": "2999-01", "preview": "1"})
    assert "has not started" in response.content.decode()


@pytest.mark.parametrize("size", [10, 1000])
def test_invoice_list_runs_the_same_queries_at_any_size(
    admin, client, size, django_assert_max_num_queries
):
    contract = ContractFactory()
    member = MemberFactory()
    Invoice.objects.bulk_create(
        [
            Invoice(
                number=f"T-{n}",
                contract=contract if n % 2 else None,
                member=None if n % 2 else member,
                period=D(2000, 1, 1) + datetime.timedelta(days=40 * n),
                issue_date=D(2026, 1, 1),
                due_date=D(2026, 1, 31),
                currency="EUR",
                total=Decimal("10.00"),
                bill_to_name="x",
                bill_to_email="x@example.org",
            )
            for n in range(size)
        ]
    )
    with django_assert_max_num_queries(8):
        response = client.get(reverse("billing:invoice_list"))
    assert response.status_code == 200
    assert response.content.decode().count("/billing/invoices/") >= 10


def test_only_draft_contracts_can_be_edited(admin, client):
    anchor = AnchorFactory()
    client.post(reverse("billing:contract_create"), contract_post(anchor))
    contract = DirectCareContract.objects.get(reference="NEW-1")
    url = reverse("billing:contract_edit", args=[contract.pk])
    response = client.post(url, contract_post(anchor, rate_per_member_month="41.00"))
    assert response.status_code == 302
    contract.refresh_from_db()
    assert contract.rate_per_member_month == Decimal("41.00")
    services.contract_transition(contract=contract, to="active")
    response = client.post(url, contract_post(anchor, rate_per_member_month="1.00"), follow=True)
    assert "Only a draft contract can be changed" in response.content.decode()
    contract.refresh_from_db()
    assert contract.rate_per_member_month == Decimal("41.00")


def test_a_credit_note_confirmed_twice_is_issued_once(admin, client):
    """A second click, or the same confirmation page sent again from another tab."""
    invoice = contract_invoice()
    url = reverse("billing:credit_note_create", args=[invoice.pk])
    reauthenticate(client)
    confirmed = {"amount": "10.00", "reason": "Goodwill", "credited_before": "0.00", "confirm": "1"}
    assert client.post(url, confirmed).status_code == 302
    again = client.post(url, confirmed)
    assert again.status_code == 400
    assert "since this one was confirmed" in again.content.decode()
    assert CreditNote.objects.count() == 1


def test_an_anchor_invoice_shows_its_lines_a_page_at_a_time(
    admin, client, monkeypatch, django_assert_max_num_queries
):
    from billing import views

    contract = ContractFactory(rate_per_member_month=Decimal("10.00"))
    for _ in range(7):
        EnrolmentFactory(contract=contract)
    services.invoice_run(period=MARCH, today=RUN_DAY, contract_ids=[contract.pk])
    invoice = Invoice.objects.get(contract=contract)
    url = reverse("billing:invoice_detail", args=[invoice.pk])
    monkeypatch.setattr(views, "LINES_PAGE_SIZE", 3)
    with django_assert_max_num_queries(12):
        first = client.get(url)
    last = client.get(url, {"page": 3})
    lines = list(invoice.lines.order_by("pk"))
    assert len(lines) == 7
    assert [line.pk for line in first.context["lines"]] == [line.pk for line in lines[:3]]
    assert [line.pk for line in last.context["lines"]] == [lines[6].pk]
    assert "Page 1 of 3" in first.content.decode()
    # The invoice's total is all its lines, whatever the page shows.
    assert first.context["invoice"].total == Decimal("70.00")
