import pytest
from django.core.management import call_command

from members.models import (
    FeePeriod,
    FeePlan,
    Member,
    MemberStatus,
    ShareClass,
    ShareLedgerEntry,
)
from members.selectors import holdings_of, members_in_good_standing
from tests.factories import UserFactory
from tests.members.factories import MemberFactory, ShareClassFactory, holding

pytestmark = pytest.mark.django_db


def test_demo_register_has_plans_shares_applicants_and_one_lapsed_member():
    call_command("seed_demo")
    share_class = ShareClass.objects.get()
    assert share_class.minimum_holding >= 1
    periods = set(FeePlan.objects.values_list("period", flat=True))
    assert periods == {FeePeriod.MONTHLY, FeePeriod.YEARLY}
    for member in Member.objects.filter(number__lte=25):
        assert member.fee_plans.filter(valid_to__isnull=True).exists(), member.number
    assert not Member.objects.filter(number__range=(26, 40), fee_plans__isnull=False).exists()
    assert Member.objects.get(number=42).status == MemberStatus.LAPSED
    assert Member.objects.get(user__email="member@demo.coop").number == 1
    assert Member.objects.get(user__email="member2@demo.coop").number == 2
    assert Member.objects.filter(status=MemberStatus.APPLICANT, number__isnull=True).count() >= 3
    for member in Member.objects.filter(status=MemberStatus.ACTIVE):
        assert holdings_of(member)[0]["shares"] >= share_class.minimum_holding
    assert Member.objects.filter(orientation_attended_on__isnull=False).exists()
    assert Member.objects.filter(
        status=MemberStatus.ACTIVE, orientation_attended_on__isnull=True
    ).exists()
    assert Member.objects.get(number=1) in members_in_good_standing()


def test_django_admin_shows_the_ledger_read_only(client):
    entry = holding(MemberFactory(), ShareClassFactory(), 1)
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    base = "/django-admin/members/shareledgerentry/"
    assert client.get(base).status_code == 200
    page = client.get(f"{base}{entry.pk}/change/")
    assert page.status_code == 200
    assert 'name="quantity"' not in page.content.decode()
    assert client.post(f"{base}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get(f"{base}add/").status_code == 403
    assert ShareLedgerEntry.objects.filter(pk=entry.pk).exists()
    member_page = client.get(f"/django-admin/members/member/{entry.member_id}/change/")
    assert 'name="status"' not in member_page.content.decode()
