import datetime

import pytest
from django.db.models import Exists, OuterRef

from clinic.roles import Role
from members import selectors, services
from members.models import Member, MemberStatus
from tests.factories import user_with_role
from tests.members.factories import ApplicantFactory, MemberFactory, ShareClassFactory, holding

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def share_class():
    return ShareClassFactory(minimum_holding=2)


def test_good_standing_needs_active_status_and_the_minimum_holding(share_class):
    enough = MemberFactory(admitted_on=D(2025, 1, 1))
    holding(enough, share_class, 2)
    too_few = MemberFactory(admitted_on=D(2025, 1, 1))
    holding(too_few, share_class, 1)
    suspended = MemberFactory(status=MemberStatus.SUSPENDED, admitted_on=D(2025, 1, 1))
    holding(suspended, share_class, 2)
    assert set(selectors.members_in_good_standing()) == {enough}
    assert selectors.is_in_good_standing(enough)
    assert not selectors.is_in_good_standing(too_few)


def test_good_standing_on_a_past_date_follows_the_recorded_status_history(share_class):
    admin = user_with_role(Role.ADMINISTRATOR)
    applicant = ApplicantFactory()
    services.member_approve(member=applicant, by=admin, base_url="http://x/", on=D(2025, 1, 10))
    applicant.refresh_from_db()
    services.member_change_status(
        member=applicant, to_status="suspended", by=admin, reason="Conduct", on=D(2025, 3, 1)
    )
    services.member_change_status(
        member=applicant, to_status="active", by=admin, reason="Resolved", on=D(2025, 5, 1)
    )

    def standing(on):
        return applicant in selectors.members_in_good_standing(on=on)

    assert not standing(D(2025, 1, 9))  # before admission
    assert standing(D(2025, 2, 1))
    assert not standing(D(2025, 4, 1))  # suspended then, although active today
    assert standing(D(2025, 6, 1))


def test_members_without_history_fall_back_to_their_status_and_dates(share_class):
    member = MemberFactory(admitted_on=D(2025, 1, 1), status=MemberStatus.ACTIVE)
    holding(member, share_class, 2)
    assert member in selectors.members_in_good_standing(on=D(2025, 2, 1))
    assert member not in selectors.members_in_good_standing(on=D(2024, 12, 1))
    ceased = MemberFactory(
        admitted_on=D(2025, 1, 1), status=MemberStatus.WITHDRAWN, ceased_on=D(2025, 3, 1)
    )
    holding(ceased, share_class, 2)
    assert ceased not in selectors.members_in_good_standing(on=D(2025, 6, 1))


def test_shares_held_on_the_record_date_count_not_later_ones(share_class):
    member = MemberFactory(admitted_on=D(2025, 1, 1))
    entry = holding(member, share_class, 2)
    assert entry.entry_date == D(2025, 1, 1)
    assert member not in selectors.members_in_good_standing(on=D(2024, 12, 31))
    assert member in selectors.members_in_good_standing(on=D(2025, 1, 1))


def test_good_standing_is_one_query_and_usable_as_a_subquery(
    share_class, django_assert_num_queries
):
    for _ in range(5):
        holding(MemberFactory(admitted_on=D(2025, 1, 1)), share_class, 2)
    # One to read the share classes' minimums, one for the members.
    with django_assert_num_queries(2):
        assert len(list(selectors.members_in_good_standing())) == 5
    eligible = selectors.members_in_good_standing().values("pk")
    annotated = Member.objects.annotate(eligible=Exists(eligible.filter(pk=OuterRef("pk"))))
    assert annotated.filter(eligible=True).count() == 5
