import pytest
from django.core.management import call_command

from billing.models import AnchorKind, ContractStatus, Invoice, InvoiceStatus
from clinic.roles import Role, has_role

pytestmark = pytest.mark.django_db


def test_demo_anchor_has_an_active_contract_covering_members_26_to_40_and_two_invoices():
    call_command("seed_demo")
    call_command("seed_demo")
    from billing.models import AnchorOrganization

    anchor = AnchorOrganization.objects.get()
    assert anchor.kind == AnchorKind.AGRICULTURAL_COOPERATIVE
    contact = anchor.contacts.get()
    assert contact.email == "anchor@demo.coop"
    assert has_role(contact, Role.ANCHOR_CONTACT)
    contract = anchor.contracts.get()
    assert contract.status == ContractStatus.ACTIVE
    numbers = set(contract.enrolments.values_list("member__number", flat=True))
    assert numbers == set(range(26, 41))
    invoices = Invoice.objects.filter(contract=contract).order_by("period")
    assert [i.status for i in invoices] == [InvoiceStatus.PAID, InvoiceStatus.OVERDUE]
