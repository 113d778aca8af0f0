"""The 500s the security sweep found (issue 11), each now a field error or a clear message."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from billing.models import CoverEnrolment
from clinic.params import id_param
from clinic.roles import Role
from members.models import ShareLedgerEntry
from tests.billing.factories import ContractFactory
from tests.factories import user_with_role
from tests.members.factories import MemberFactory, ShareClassFactory

pytestmark = pytest.mark.django_db

HUGE = ["99999999999999999999999999", "9223372036854775808", "2147483648", "-1", "²", "١٢"]


@pytest.fixture
def admin_client(client):
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    return client


@pytest.mark.parametrize("number", HUGE)
def test_a_huge_member_number_in_a_roster_upload_is_a_row_error(admin_client, number):
    contract = ContractFactory()
    member = MemberFactory()
    text = f"member_number,covered_from\n{member.number},2026-01-01\n{number},2026-01-01\n"
    response = admin_client.post(
        reverse("billing:roster_import", args=[contract.pk]),
        {"file": SimpleUploadedFile("roster.csv", text.encode(), content_type="text/csv")},
    )
    assert response.status_code == 200
    assert f"Row 3, member_number: no member number {number}" in response.content.decode()
    assert not CoverEnrolment.objects.exists()


@pytest.mark.parametrize("action", ["subscribe", "transfer", "redeem"])
@pytest.mark.parametrize("quantity", ["99999999999999999999", "2147483648", "1000001"])
def test_a_huge_share_quantity_is_a_field_error(admin_client, action, quantity):
    member, other = MemberFactory(), MemberFactory()
    share_class = ShareClassFactory()
    response = admin_client.post(
        reverse("members:member_shares", args=[member.pk, action]),
        {
            f"{action}-share_class": share_class.pk,
            f"{action}-entry_date": "2026-01-05",
            f"{action}-quantity": quantity,
            f"{action}-to_member_number": other.number,
        },
    )
    assert response.status_code == 400
    form = next(
        value
        for value in response.context[0].flatten().values()
        if getattr(value, "prefix", None) == action
    )
    assert "quantity" in form.errors
    assert not ShareLedgerEntry.objects.exists()


def test_shares_whose_money_overflows_the_ledger_are_a_field_error(admin_client):
    member = MemberFactory()
    share_class = ShareClassFactory(name="Investor share", par_value="50000000.00")
    response = admin_client.post(
        reverse("members:member_shares", args=[member.pk, "subscribe"]),
        {
            "subscribe-share_class": share_class.pk,
            "subscribe-entry_date": "2026-01-05",
            "subscribe-quantity": "1000",
        },
    )
    assert response.status_code == 400
    assert "more than the register can hold" in response.content.decode()
    assert not ShareLedgerEntry.objects.exists()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12),
        (" 7 ", 7),
        ("0", None),
        ("-3", None),
        ("+3", None),
        ("1_000", None),
        ("²", None),
        ("١٢", None),
        ("9223372036854775807", 2**63 - 1),
        ("9223372036854775808", None),
        ("1" * 5000, None),
        ("1\x00", None),
        (None, None),
    ],
)
def test_id_param_accepts_only_plain_ids_a_column_can_hold(value, expected):
    assert id_param(value) == expected
    assert id_param("2147483648", max_value=2**31 - 1) is None
