"""Counts on the office's pages read naturally ("1 application", "3 applications"), never
"application(s)", and the count of applications waiting leads to them."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from billing import services as billing_services
from billing.models import EmailKind, InvoiceEmail
from clinic.roles import Role
from governance import services as governance_services
from tests.billing.factories import ContractFactory
from tests.billing.helpers import contract_invoice
from tests.factories import user_with_role
from tests.governance.factories import motion
from tests.members.factories import ApplicantFactory, MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(client):
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    return client


def test_applications_waiting_link_to_them_in_singular_and_plural(office):
    ApplicantFactory()
    page = office.get(reverse("administration")).content.decode()
    link = re.search(r'<a href="([^"]+)">1 application waiting</a>', page)
    assert link and link.group(1) == reverse("members:applications")
    ApplicantFactory.create_batch(2)
    page = office.get(reverse("administration")).content.decode()
    assert re.search(r'<a href="[^"]+">3 applications waiting</a>', page)


def test_office_pages_say_day_and_days_and_never_s_in_brackets(office):
    invoice = contract_invoice(rate=Decimal("100.00"))
    contract = ContractFactory(payment_terms_days=1)
    InvoiceEmail.objects.create(
        invoice=invoice, kind=EmailKind.REMINDER, reminder_step=1, recipient="a@example.org"
    )
    billing_services.credit_note_issue(invoice=invoice, amount=Decimal("1.00"), reason="Typo")
    member = MemberFactory()
    ballot = governance_services.ballot_open(ballot=motion())
    pages = {
        "contract": reverse("billing:contract_detail", args=[contract.pk]),
        "invoice": reverse("billing:invoice_detail", args=[invoice.pk]),
        "aging": reverse("billing:aging_report"),
        "member": reverse("members:member_detail", args=[member.pk]),
        "ballot": reverse("governance:ballot_cancel", args=[ballot.pk]),
        "home": reverse("administration"),
    }
    content = {name: office.get(url).content.decode() for name, url in pages.items()}
    assert "net 1 day, billed on day" in content["contract"]
    assert "(1 day overdue)" in content["invoice"]
    assert "The 0 choices cast so far" in content["ballot"]
    for name, page in content.items():
        assert not re.search(r"\w\(s\)", page), name
