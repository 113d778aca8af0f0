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


def test_demo_members_on_fee_plans_have_fee_invoices_and_most_stay_in_good_standing():
    from billing import demo
    from members.models import Member
    from members.selectors import members_in_good_standing

    call_command("seed_demo")
    first = list(Invoice.objects.values_list("number", "status").order_by("number"))
    call_command("seed_demo")
    assert list(Invoice.objects.values_list("number", "status").order_by("number")) == first

    for email in ("member@demo.coop", "member2@demo.coop"):
        member = Member.objects.get(user__email=email)
        statuses = list(member.invoices.order_by("period").values_list("status", flat=True))
        assert statuses == [InvoiceStatus.PAID, InvoiceStatus.PAID, InvoiceStatus.ISSUED]
    fee_invoiced = set(
        Invoice.objects.filter(member__isnull=False).values_list("member__number", flat=True)
    )
    assert fee_invoiced <= set(range(1, 26))
    assert {1, 2, *demo.LATE_PAYERS} <= fee_invoiced
    in_good_standing = set(members_in_good_standing().values_list("number", flat=True))
    assert {1, 2} <= in_good_standing
    assert not set(demo.LATE_PAYERS) & in_good_standing
    assert fee_invoiced - set(demo.LATE_PAYERS) <= in_good_standing
    late = Invoice.objects.filter(member__number__in=demo.LATE_PAYERS)
    assert set(late.values_list("status", flat=True)) >= {InvoiceStatus.OVERDUE}
