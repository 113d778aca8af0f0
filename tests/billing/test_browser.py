import pytest
from playwright.sync_api import Page, expect

from billing import demo as billing_demo
from billing.models import DirectCareContract, Invoice, InvoiceStatus
from clinic.demo import demo_user
from clinic.roles import Role
from members import demo as members_demo
from tests.pdf import pdf_text

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def log_in(page: Page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("demo-pass-2026")
    page.get_by_role("button", name="Log in").click()


def test_administrator_invoices_the_anchor_and_the_anchor_contact_sees_it_paid(
    live_server, page: Page
):
    # The demo's people and its anchor (other apps' demo data is not needed here).
    demo_user(
        email="admin@demo.coop", first_name="Ada", last_name="Office", roles=(Role.ADMINISTRATOR,)
    )
    members_demo.seed()
    billing_demo.seed()
    contract = DirectCareContract.objects.get(reference="VG-2025-01")
    before = set(Invoice.objects.values_list("pk", flat=True))

    log_in(page, live_server, "admin@demo.coop")
    page.get_by_role("link", name="Run invoicing").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Run invoicing")
    page.get_by_label("Only this contract").select_option(label=str(contract))
    page.get_by_label("Include members' fee invoices").uncheck()
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-summary")).to_contain_text("1 invoice to issue")
    expect(page.locator("#run-confirm")).to_contain_text("This will issue 1 invoice totalling")
    page.get_by_role("button", name="Issue these invoices").click()
    # Issuing asks for the password again, then goes ahead with the confirmed request.
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm Access")
    page.locator("input[name=password]").fill("demo-pass-2026")
    page.get_by_role("button", name="Confirm").click()
    # Tasks run in-process here: the run has finished when its progress page shows.
    expect(page.locator("#run-status")).to_have_text("Finished")
    page.locator("#run-result").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Invoices for")

    invoice = Invoice.objects.exclude(pk__in=before).get()
    assert invoice.contract == contract
    page.get_by_role("link", name=invoice.number).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Invoice {invoice.number}")
    expect(page.locator("#invoice-status")).to_have_text("Issued")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    with open(download_info.value.path(), "rb") as handle:
        text = pdf_text(handle.read())
    assert invoice.number in text
    assert "Valley Growers Agricultural Cooperative" in text

    page.locator("#payment_amount").fill(str(invoice.total))
    page.get_by_label("Method").select_option(label="Bank transfer")
    page.get_by_label("Reference").fill("VG-OCT")
    page.get_by_role("button", name="Record payment").click()
    expect(page.locator("#invoice-status")).to_have_text("Paid")
    page.get_by_role("button", name="Log out").click()

    log_in(page, live_server, "anchor@demo.coop")
    expect(page.get_by_role("heading", level=1)).to_have_text("Contract")
    row = page.get_by_role("row").filter(has_text=invoice.number)
    expect(row).to_contain_text("Paid")
    expect(row.get_by_role("link", name=f"Download {invoice.number}")).to_be_visible()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID


def test_issuing_a_credit_note_asks_first_and_says_who_is_emailed(live_server, page: Page):
    from decimal import Decimal

    from billing.models import CreditNote
    from tests.billing.helpers import contract_invoice

    demo_user(
        email="admin@demo.coop", first_name="Ada", last_name="Office", roles=(Role.ADMINISTRATOR,)
    )
    invoice = contract_invoice(rate=Decimal("100.00"))
    log_in(page, live_server, "admin@demo.coop")
    page.goto(f"{live_server.url}/billing/invoices/{invoice.pk}/")
    page.get_by_label("Amount to credit").fill("30")
    page.get_by_label("Reason").fill("Two weeks not covered")
    page.get_by_role("button", name="Review the credit note").click()

    # Nothing is issued yet: the page says what will happen and to whom.
    expect(page.get_by_role("heading", level=1)).to_have_text("Issue the credit note?")
    expect(page.locator("#credit-amount")).to_have_text("€30.00")
    expect(page.locator("#credit-reason")).to_have_text("Two weeks not covered")
    expect(page.locator("#credit-balance-after")).to_have_text("€70.00")
    expect(page.locator("#credit-recipient")).to_contain_text(invoice.bill_to_email)
    assert not CreditNote.objects.exists()

    # Going back issues nothing.
    page.get_by_role("link", name="No, go back to the invoice").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Invoice {invoice.number}")
    assert not CreditNote.objects.exists()

    page.get_by_label("Amount to credit").fill("30")
    page.get_by_label("Reason").fill("Two weeks not covered")
    page.get_by_role("button", name="Review the credit note").click()
    page.get_by_role("button", name="Yes, issue the credit note").click()
    # Issuing asks for the password again, then goes ahead with the confirmed request.
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm Access")
    page.locator("input[name=password]").fill("demo-pass-2026")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Invoice {invoice.number}")
    note = CreditNote.objects.get()
    assert (note.amount, note.reason) == (Decimal("30.00"), "Two weeks not covered")


def test_the_run_page_shows_the_worker_drafting_and_issuing_without_reloading(
    live_server, page: Page, celery_worker
):
    """A real worker drafts the preview and issues the invoices; the page follows both by
    polling its panel (htmx), never by reloading."""
    import datetime

    from django.utils import timezone

    from billing import rules
    from tests.billing.factories import EnrolmentFactory, FeePlanAssignmentFactory

    demo_user(
        email="admin@demo.coop", first_name="Ada", last_name="Office", roles=(Role.ADMINISTRATOR,)
    )
    month = rules.previous_month(timezone.localdate())
    for _ in range(3):
        FeePlanAssignmentFactory(valid_from=datetime.date(2024, 1, 1))
    EnrolmentFactory()

    log_in(page, live_server, "admin@demo.coop")
    page.goto(f"{live_server.url}/billing/invoices/run/")
    page.get_by_label("Billing period (month)").fill(f"{month:%Y-%m}")
    page.get_by_role("button", name="Preview").click()
    page.evaluate("window.sameDocument = true")
    expect(page.locator("#preview-summary")).to_contain_text(
        "4 invoices to issue (1 to anchors, 3 to members)", timeout=60_000
    )
    assert page.evaluate("window.sameDocument === true")
    preview_url = page.url
    page.get_by_role("button", name="Issue these invoices").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm Access")
    page.locator("input[name=password]").fill("demo-pass-2026")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Invoice run for {month:%B %Y}")
    page.evaluate("window.sameDocument = true")
    expect(page.locator("#run-status")).to_have_text("Finished", timeout=60_000)
    expect(page.locator("#run-issued")).to_have_text("4 of 4")
    expect(page.locator("#run-finished")).to_contain_text("4 invoices issued")
    assert page.evaluate("window.sameDocument === true")
    progress_url = page.url
    page.locator("#run-result").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Invoices for {month:%B %Y}")
    for number in Invoice.objects.filter(period=month).values_list("number", flat=True):
        expect(page.get_by_role("link", name=number)).to_be_visible()
    assert Invoice.objects.filter(period=month).count() == 4
    # Both pages fit a 360 px phone without scrolling sideways.
    page.set_viewport_size({"width": 360, "height": 740})
    for url in (preview_url, progress_url):
        page.goto(url)
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
