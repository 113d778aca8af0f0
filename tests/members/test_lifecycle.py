import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic.roles import Role, has_role
from members import services
from members.models import (
    FeePlanAssignment,
    Member,
    MemberNumberSequence,
    MemberStatus,
    PaymentMethod,
    ShareLedgerEntry,
)
from tests.factories import user_with_role
from tests.members.factories import (
    ApplicantFactory,
    FeePlanFactory,
    MemberFactory,
    ShareClassFactory,
)

pytestmark = pytest.mark.django_db
BASE_URL = "https://clinic.example.org/"
TODAY = timezone.localdate


def apply(**overrides) -> Member | None:
    data = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.org",
        "date_of_birth": datetime.date(1990, 1, 2),
        "address": "1 Loom Street",
        "payment_method": PaymentMethod.FEE_PLAN,
        "requested_fee_plan": FeePlanFactory(),
    }
    return services.member_apply(**{**data, **overrides})


@pytest.fixture
def admin():
    return user_with_role(Role.ADMINISTRATOR)


def test_applying_creates_an_applicant_who_cannot_log_in_and_nothing_else():
    member = apply()
    assert member.status == MemberStatus.APPLICANT
    assert member.number is None
    assert not member.user.has_usable_password()
    assert not has_role(member.user, Role.MEMBER)
    assert not member.user.emailaddress_set.get().verified
    assert member.rules_accepted_at is not None
    assert not ShareLedgerEntry.objects.exists()
    assert not FeePlanAssignment.objects.exists()
    assert list(member.status_events.values_list("to_status", flat=True)) == ["applicant"]


def test_applying_with_a_registered_email_changes_nothing_and_tells_the_owner(mailoutbox):
    existing = MemberFactory(user__email="taken@example.org", user__first_name="Kept")
    with_commit = apply(email="Taken@example.org", first_name="Intruder")
    assert with_commit is None
    existing.user.refresh_from_db()
    assert existing.user.first_name == "Kept"
    assert Member.objects.count() == 1


def test_duplicate_application_notice_is_mailed_after_commit(
    django_capture_on_commit_callbacks, mailoutbox
):
    MemberFactory(user__email="taken@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        apply(email="taken@example.org")
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["taken@example.org"]
    assert "already registered" in mailoutbox[0].body


def test_approval_assigns_consecutive_numbers_plan_shares_role_and_history(admin):
    MemberFactory(number=7)
    share_class = ShareClassFactory(minimum_holding=2)
    first, second = ApplicantFactory(), ApplicantFactory()
    services.member_approve(member=first, by=admin, base_url=BASE_URL)
    services.member_approve(member=second, by=admin, base_url=BASE_URL)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.number, second.number) == (8, 9)
    assert MemberNumberSequence.objects.get().last_number == 9
    assert first.status == MemberStatus.ACTIVE
    assert first.admitted_on == TODAY()
    assert has_role(first.user, Role.MEMBER)
    assert first.fee_plans.get().plan == first.requested_fee_plan
    entry = ShareLedgerEntry.objects.get(member=first)
    assert (entry.share_class, entry.quantity) == (share_class, 2)
    event = first.status_events.latest("pk")
    assert (event.from_status, event.to_status, event.recorded_by) == ("applicant", "active", admin)


def test_member_numbers_are_never_reused_after_the_highest_member_leaves_the_register(admin):
    applicant = ApplicantFactory()
    services.member_approve(member=applicant, by=admin, base_url=BASE_URL)
    applicant.refresh_from_db()
    # A repair that takes the highest number off the register (a member and their status
    # history can no longer be deleted: the history is immutable in the database).
    Member.objects.filter(pk=applicant.pk).update(number=None, status=MemberStatus.REJECTED)
    later = ApplicantFactory()
    services.member_approve(member=later, by=admin, base_url=BASE_URL)
    later.refresh_from_db()
    assert later.number == applicant.number + 1


def test_anchor_covered_applicant_gets_no_fee_plan(admin):
    applicant = ApplicantFactory(
        payment_method=PaymentMethod.ANCHOR,
        requested_fee_plan=None,
        anchor_organization_name="Valley Growers",
    )
    services.member_approve(member=applicant, by=admin, base_url=BASE_URL)
    assert not FeePlanAssignment.objects.filter(member=applicant).exists()


def test_welcome_email_carries_a_working_set_password_link(
    admin, client, django_capture_on_commit_callbacks, mailoutbox
):
    applicant = ApplicantFactory(user__email="new@example.org", preferred_language="en")
    with django_capture_on_commit_callbacks(execute=True):
        services.member_approve(member=applicant, by=admin, base_url="http://testserver/")
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["new@example.org"]
    applicant.refresh_from_db()
    assert f"member number {applicant.number}" in mail.body
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", mail.body).group(1)
    form = client.get(link, follow=True)
    new_password = "a-Long-new-passphrase-77"
    client.post(form.redirect_chain[-1][0], {"password1": new_password, "password2": new_password})
    applicant.user.refresh_from_db()
    assert applicant.user.check_password(new_password)
    assert applicant.user.emailaddress_set.get().verified
    response = client.post(
        "/accounts/login/", {"login": "new@example.org", "password": new_password}
    )
    assert response.status_code == 302
    # The link works once.
    assert "token" in client.get(link, follow=True).content.decode().lower()


def test_rejection_needs_a_reason_and_mails_it(
    admin, django_capture_on_commit_callbacks, mailoutbox
):
    applicant = ApplicantFactory()
    with pytest.raises(ValidationError, match="reason"):
        services.member_reject(member=applicant, by=admin, reason="  ")
    with django_capture_on_commit_callbacks(execute=True):
        services.member_reject(member=applicant, by=admin, reason="We are full this year.")
    applicant.refresh_from_db()
    assert applicant.status == MemberStatus.REJECTED
    assert applicant.number is None
    assert "We are full this year." in mailoutbox[0].body
    assert applicant.status_events.latest("pk").reason == "We are full this year."


def test_a_rejected_applicant_may_apply_again(admin):
    applicant = apply(email="again@example.org")
    services.member_reject(member=applicant, by=admin, reason="Incomplete address")
    again = apply(email="again@example.org", address="2 Loom Street, Riverside")
    assert again.pk == applicant.pk
    assert again.status == MemberStatus.APPLICANT
    assert again.address == "2 Loom Street, Riverside"
    assert get_user_model().objects.filter(email="again@example.org").count() == 1


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (MemberStatus.ACTIVE, MemberStatus.SUSPENDED),
        (MemberStatus.ACTIVE, MemberStatus.LAPSED),
        (MemberStatus.SUSPENDED, MemberStatus.ACTIVE),
        (MemberStatus.LAPSED, MemberStatus.ACTIVE),
        (MemberStatus.LAPSED, MemberStatus.WITHDRAWN),
        (MemberStatus.ACTIVE, MemberStatus.DECEASED),
    ],
)
def test_allowed_status_changes_are_recorded_with_who_when_and_why(admin, start, target):
    member = MemberFactory(status=start, admitted_on=TODAY() - datetime.timedelta(days=100))
    on = TODAY() - datetime.timedelta(days=3)
    services.member_change_status(
        member=member, to_status=target, by=admin, reason="Because", on=on
    )
    member.refresh_from_db()
    assert member.status == target
    event = member.status_events.get()
    assert (event.from_status, event.to_status, event.effective_on) == (start, target, on)
    assert (event.recorded_by, event.reason) == (admin, "Because")
    assert member.ceased_on == (on if target in ("withdrawn", "deceased") else None)


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (MemberStatus.WITHDRAWN, MemberStatus.ACTIVE),
        (MemberStatus.DECEASED, MemberStatus.ACTIVE),
        (MemberStatus.ACTIVE, MemberStatus.APPLICANT),
        (MemberStatus.ACTIVE, MemberStatus.REJECTED),
        (MemberStatus.LAPSED, MemberStatus.SUSPENDED),
    ],
)
def test_invalid_status_changes_are_refused_with_a_clear_message(admin, start, target):
    member = MemberFactory(status=start)
    with pytest.raises(ValidationError, match="cannot go from"):
        services.member_change_status(member=member, to_status=target, by=admin, reason="x")
    member.refresh_from_db()
    assert member.status == start
    assert not member.status_events.exists()


def test_applicants_are_admitted_only_through_approval(admin):
    with pytest.raises(ValidationError, match="approved or rejected"):
        services.member_change_status(
            member=ApplicantFactory(), to_status=MemberStatus.ACTIVE, by=admin
        )


def test_status_changes_need_a_reason_and_no_future_or_out_of_order_dates(admin):
    member = MemberFactory()
    with pytest.raises(ValidationError, match="reason"):
        services.member_change_status(member=member, to_status="suspended", by=admin)
    with pytest.raises(ValidationError, match="future"):
        services.member_change_status(
            member=member,
            to_status="suspended",
            by=admin,
            reason="x",
            on=TODAY() + datetime.timedelta(days=1),
        )
    services.member_change_status(member=member, to_status="suspended", by=admin, reason="x")
    with pytest.raises(ValidationError, match="before the last recorded change"):
        services.member_change_status(
            member=member,
            to_status="active",
            by=admin,
            reason="x",
            on=TODAY() - datetime.timedelta(days=1),
        )


def test_approving_twice_is_refused(admin):
    applicant = ApplicantFactory()
    services.member_approve(member=applicant, by=admin, base_url=BASE_URL)
    with pytest.raises(ValidationError, match="Only applications"):
        services.member_approve(member=applicant, by=admin, base_url=BASE_URL)


def test_admitted_members_must_have_a_number():
    with pytest.raises(IntegrityError), transaction.atomic():
        MemberFactory(number=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        MemberFactory(number=5, user__email="a@example.org")
        MemberFactory(number=5, user__email="b@example.org")


def test_fee_plan_change_closes_the_previous_plan_the_day_before(admin):
    member = MemberFactory(admitted_on=datetime.date(2025, 1, 1))
    low, high = FeePlanFactory(name="Low"), FeePlanFactory(name="High", amount=90)
    services.fee_plan_assign(member=member, plan=low, valid_from=datetime.date(2025, 1, 1))
    services.fee_plan_assign(member=member, plan=high, valid_from=datetime.date(2025, 6, 1))
    history = list(member.fee_plans.order_by("valid_from").values_list("plan__name", "valid_to"))
    assert history == [("Low", datetime.date(2025, 5, 31)), ("High", None)]
    with pytest.raises(ValidationError, match="must start after"):
        services.fee_plan_assign(member=member, plan=low, valid_from=datetime.date(2025, 6, 1))
    with pytest.raises(ValidationError, match="already on this plan"):
        services.fee_plan_assign(member=member, plan=high, valid_from=datetime.date(2025, 9, 1))


def test_a_member_is_on_one_plan_at_a_time_by_constraint():
    member = MemberFactory()
    FeePlanAssignment.objects.create(member=member, plan=FeePlanFactory(), valid_from=TODAY())
    with pytest.raises(IntegrityError), transaction.atomic():
        FeePlanAssignment.objects.create(
            member=member, plan=FeePlanFactory(name="Other"), valid_from=TODAY()
        )


def test_fee_plan_can_end_when_an_organization_covers_the_member():
    member = MemberFactory()
    services.fee_plan_assign(
        member=member, plan=FeePlanFactory(), valid_from=TODAY() - datetime.timedelta(days=10)
    )
    services.fee_plan_end(member=member, valid_to=TODAY())
    assert not member.fee_plans.filter(valid_to__isnull=True).exists()


def test_orientation_attendance_is_recorded_for_admitted_members_only():
    member = MemberFactory()
    services.member_record_orientation(member=member, attended_on=TODAY())
    member.refresh_from_db()
    assert member.orientation_attended_on == TODAY()
    with pytest.raises(ValidationError):
        services.member_record_orientation(member=ApplicantFactory(), attended_on=TODAY())
    with pytest.raises(ValidationError, match="future"):
        services.member_record_orientation(
            member=member, attended_on=TODAY() + datetime.timedelta(days=1)
        )
