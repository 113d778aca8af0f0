"""Invoice documents: the issued PDF never changes, the current balance is in the account
statement (per member and per contract, for a date range), letters are dated and the
address sits in the window of a DIN 5008 envelope. PDFs are read back with pypdf."""

import datetime
import hashlib
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from billing import services
from billing.models import EmailKind, InvoiceEmail, PaymentMethod
from billing.tasks import send_invoice_email
from clinic.roles import Role
from governance import services as governance_services
from governance.models import DeliveryChannel, NoticeDelivery
from members.models import NoticeDelivery as NoticePreference
from tests.billing.factories import AnchorFactory, ContractFactory, EnrolmentFactory
from tests.billing.helpers import RUN_DAY, contract_invoice, member_invoice
from tests.factories import user_with_role
from tests.governance.factories import MeetingFactory
from tests.members.factories import MemberFactory
from tests.pdf import pdf_text
from tests.pdf_layout import in_window, positions_of

pytestmark = pytest.mark.django_db

D = datetime.date


def _pay(invoice, amount: str, on: datetime.date):
    return services.payment_record(
        invoice=invoice,
        amount=Decimal(amount),
        paid_on=on,
        method=PaymentMethod.BANK_TRANSFER,
        reference="BANK-1",
        today=on,
    )


# --- The issued invoice -------------------------------------------------------------------


def test_the_invoice_pdf_is_the_invoice_as_issued_whenever_it_is_rendered():
    """Payments and credits recorded before the worker renders the PDF are not in it."""
    invoice = contract_invoice()
    _pay(invoice, "40.00", RUN_DAY)
    services.credit_note_issue(invoice=invoice, amount=Decimal("10.00"), reason="Goodwill")
    invoice = services.invoice_render_pdf(invoice_id=invoice.pk)
    stored = invoice.pdf.read()
    text = pdf_text(stored)
    assert "Amount due\n€100.00" in text or "Amount due €100.00" in text
    assert "€40.00" not in text and "€50.00" not in text
    assert "Paid" not in text and "Credited" not in text
    # It never changes after: rendering again, more payments and a reminder keep the file.
    digest = hashlib.sha256(stored).hexdigest()
    _pay(invoice, "50.00", RUN_DAY + datetime.timedelta(days=2))
    services.invoice_render_pdf(invoice_id=invoice.pk)
    services.invoice_email_queue(invoice=invoice, kind=EmailKind.REMINDER)
    invoice.refresh_from_db()
    with invoice.pdf.open("rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == digest


def test_amounts_in_the_invoice_pdf_keep_the_currency_decimals_and_do_not_wrap():
    invoice = contract_invoice(rate=Decimal("675"))
    text = pdf_text(services.invoice_render_pdf(invoice_id=invoice.pk).pdf.read())
    assert "€675.00" in text
    assert "675 EUR" not in text


def test_a_paid_invoice_sent_again_does_not_ask_for_payment(django_capture_on_commit_callbacks):
    invoice = member_invoice()
    _pay(invoice, "20.00", RUN_DAY)
    with django_capture_on_commit_callbacks(execute=True):
        services.invoice_deliver(invoice_id=invoice.pk)
    (message,) = mail.outbox
    html = message.alternatives[0][0]
    for body in (message.body, html):
        assert "nothing to pay" in body
        assert "Please pay by" not in body
        assert "Amount due" not in body
    # An unpaid one does ask, with the amount in the currency's decimals.
    unpaid = member_invoice(amount=Decimal("45"))
    services.invoice_render_pdf(invoice_id=unpaid.pk)
    email = InvoiceEmail.objects.create(
        invoice=unpaid, kind=EmailKind.INVOICE, recipient=unpaid.bill_to_email
    )
    send_invoice_email(email.pk)
    html = mail.outbox[-1].alternatives[0][0]
    assert "Please pay by" in html and "€45.00" in html


def test_the_invoice_address_is_in_the_envelope_window():
    invoice = contract_invoice(contract__anchor__address="3 Mill Street\n1234 AB Riverside")
    data = services.invoice_render_pdf(invoice_id=invoice.pk).pdf.read()
    for line in (invoice.bill_to_name, "3 Mill Street", "1234 AB Riverside"):
        assert any(in_window(*at) for at in positions_of(data, line)), (
            line,
            positions_of(data, line),
        )


# --- Account statements -------------------------------------------------------------------


def _member_with_history():
    """A member billed 20.00 in March, paid in April, credited 5.00 and refunded in May."""
    march = member_invoice()
    member = march.member
    _pay(march, "20.00", D(2026, 4, 10))
    services.credit_note_issue(
        invoice=march, amount=Decimal("5.00"), reason="Billed twice", today=D(2026, 5, 2)
    )
    services.refund_record(
        invoice=march,
        amount=Decimal("5.00"),
        refunded_on=D(2026, 5, 3),
        method=PaymentMethod.BANK_TRANSFER,
        reason="Credit paid back",
        today=D(2026, 5, 3),
    )
    return member, march


def test_member_statement_has_opening_entries_and_closing_balance(client):
    member, march = _member_with_history()
    client.force_login(member.user)
    response = client.get(
        reverse("billing:my_statement"), {"start": "2026-04-05", "end": "2026-12-31"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = " ".join(pdf_text(response.content).split())
    assert "Account statement" in text
    assert "5 Apr 2026 \N{EN DASH} 31 Dec 2026" in text
    # Invoiced on 2026-04-01, before the range: the opening balance owes it.
    assert "Opening balance" in text and "€20.00" in text
    assert march.number in text
    for entry in ("10 Apr 2026", "Payment", "BANK-1", "2 May 2026", "Billed twice", "3 May 2026"):
        assert entry in text, entry
    assert "Closing balance" in text and "Nothing owed on 31 Dec 2026" in text


def test_statement_before_the_payment_closes_with_what_is_owed(client):
    member, march = _member_with_history()
    client.force_login(member.user)
    text = pdf_text(
        client.get(
            reverse("billing:my_statement"), {"start": "2026-03-01", "end": "2026-04-09"}
        ).content
    )
    assert march.number in text
    assert "Opening balance" in text and "€0.00" in text
    assert "Amount owed on 9 Apr 2026: €20.00" in text
    assert "BANK-1" not in text


def test_the_office_downloads_a_members_statement_from_the_member_page(client):
    member, march = _member_with_history()
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    page = client.get(reverse("members:member_detail", args=[member.pk])).content.decode()
    url = reverse("billing:member_statement", args=[member.pk])
    assert f'action="{url}"' in page
    assert "Owes nothing." in page and "1 invoice in all." in page
    response = client.get(url, {"start": "2026-01-01", "end": "2026-12-31"})
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert member.full_name in text and march.number in text
    # The statement's address is in the window too.
    assert any(in_window(*at) for at in positions_of(response.content, member.full_name))


def test_anchor_contact_downloads_their_contracts_statement_and_no_other(client):
    invoice = contract_invoice()
    contract = invoice.contract
    contact = user_with_role(Role.ANCHOR_CONTACT)
    contract.anchor.contacts.add(contact)
    other = ContractFactory(anchor=AnchorFactory())
    client.force_login(contact)
    page = client.get(reverse("billing:anchor_contract", args=[contract.pk])).content.decode()
    url = reverse("billing:contract_statement", args=[contract.pk])
    assert f'action="{url}"' in page
    response = client.get(url, {"start": "2026-01-01", "end": "2026-12-31"})
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert invoice.number in text and contract.anchor.name in text
    assert "Amount owed on 31 Dec 2026: €100.00" in text
    assert client.get(reverse("billing:contract_statement", args=[other.pk])).status_code == 404
    # A member asks for a contract's statement, or another member's: refused.
    member = MemberFactory()
    client.force_login(member.user)
    assert client.get(url).status_code == 403
    assert (
        client.get(reverse("billing:member_statement", args=[invoice.lines.first().member_id]))
    ).status_code == 403


def test_my_membership_offers_my_statement_and_it_holds_only_mine(client):
    mine, _march = _member_with_history()
    theirs = member_invoice()
    client.force_login(mine.user)
    page = client.get(reverse("members:my_membership")).content.decode()
    assert f'action="{reverse("billing:my_statement")}"' in page
    text = pdf_text(
        client.get(
            reverse("billing:my_statement"), {"start": "2026-01-01", "end": "2026-12-31"}
        ).content
    )
    assert theirs.number not in text and theirs.member.full_name not in text


@pytest.mark.parametrize(
    "dates",
    [
        {"start": "2026-05-01", "end": "2026-04-01"},
        {"start": "2020-01-01", "end": "2026-01-01"},
        {"start": "not a date", "end": "2026-01-01"},
    ],
)
def test_a_statement_range_that_is_not_valid_gets_field_errors(client, dates):
    member = MemberFactory()
    client.force_login(member.user)
    response = client.get(reverse("billing:my_statement"), dates)
    assert response.status_code == 400
    assert "invalid-feedback" in response.content.decode()


def test_statement_queries_do_not_grow_with_the_entries(client, django_assert_max_num_queries):
    contract = ContractFactory()
    EnrolmentFactory(contract=contract)
    contact = user_with_role(Role.ANCHOR_CONTACT)
    contract.anchor.contacts.add(contact)
    client.force_login(contact)
    url = reverse("billing:contract_statement", args=[contract.pk])
    dates = {"start": "2026-01-01", "end": "2026-12-31"}

    def run(month: int) -> None:
        services.invoice_run(
            period=D(2026, month, 1), today=D(2026, month + 1, 1), contract_ids=[contract.pk]
        )

    run(3)
    with django_assert_max_num_queries(30) as small:
        client.get(url, dates)
    for month in (4, 5, 6, 7):
        run(month)
        invoice = contract.invoices.get(period=D(2026, month, 1))
        _pay(invoice, "10.00", D(2026, month + 1, 2))
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(url, dates)


# --- Letters and notices ------------------------------------------------------------------


def test_postal_notices_are_dated_and_addressed_in_the_window(settings):
    member = MemberFactory(
        address="12 Orchard Road\n5678 CD Riverside", notice_delivery=NoticePreference.POST
    )
    meeting = MeetingFactory()
    governance_services.meeting_send_notice(meeting=meeting)
    batch = governance_services.postal_notices_render(meeting_id=meeting.pk) or (
        NoticeDelivery.objects.get(member=member, channel=DeliveryChannel.POST).postal_batch
    )
    data = batch.pdf.read()
    text = pdf_text(data)
    assert "Date:" in text
    for line in (member.full_name, "12 Orchard Road", "5678 CD Riverside"):
        assert any(in_window(*at) for at in positions_of(data, line)), (
            line,
            positions_of(data, line),
        )


def test_the_emailed_notice_pdf_is_dated():
    from django.utils import timezone
    from django.utils.formats import date_format

    meeting = MeetingFactory()
    context = governance_services._meeting_context(meeting)
    pdf, _ics = governance_services.notice_documents(meeting, language="en", context=context)
    assert f"Date: {date_format(timezone.localdate(), 'DATE_FORMAT')}" in pdf_text(pdf)


def test_the_member_page_says_what_the_member_owes(client):
    invoice = member_invoice(amount=Decimal("45"))
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    page = client.get(reverse("members:member_detail", args=[invoice.member_id])).content.decode()
    assert 'Owes <strong class="text-nowrap">€45.00</strong>.' in page
