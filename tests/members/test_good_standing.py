import datetime

import pytest
from django.db.models import Exists, OuterRef

from billing import services as billing_services
from billing.models import Invoice, InvoiceStatus
from clinic.roles import Role
from members import selectors, services
from members.models import Member, MemberStatus
from tests.billing.factories import FeePlanAssignmentFactory
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


# --- The grace days for overdue invoices (billing issues the invoices) ---------------------

MARCH = D(2026, 3, 1)
RUN_DAY = D(2026, 4, 1)


def _member_with_a_march_fee_invoice(share_class):
    """An active member holding enough shares, with their March 2026 fee invoiced on 1 April."""
    member = MemberFactory(admitted_on=D(2025, 1, 1))
    holding(member, share_class, 2)
    FeePlanAssignmentFactory(member=member, valid_from=D(2025, 1, 1))
    billing_services.invoice_run(period=MARCH, today=RUN_DAY, contract_ids=[])
    return member, Invoice.objects.get(member=member)


def test_an_invoice_overdue_by_more_than_the_grace_days_ends_good_standing(share_class, settings):
    settings.CLINIC_GOOD_STANDING_GRACE_DAYS = 10
    member, invoice = _member_with_a_march_fee_invoice(share_class)
    assert invoice.due_date == RUN_DAY + datetime.timedelta(
        days=settings.CLINIC_MEMBER_PAYMENT_TERMS_DAYS
    )
    eleven_days_late = invoice.due_date + datetime.timedelta(days=11)
    assert member not in selectors.members_in_good_standing(on=eleven_days_late)
    assert not selectors.is_in_good_standing(member, on=eleven_days_late)


def test_an_invoice_overdue_within_the_grace_days_keeps_good_standing(share_class, settings):
    settings.CLINIC_GOOD_STANDING_GRACE_DAYS = 10
    member, invoice = _member_with_a_march_fee_invoice(share_class)
    for days_late in (0, 1, 10):  # 10 days late is exactly the grace period: still allowed
        on = invoice.due_date + datetime.timedelta(days=days_late)
        assert member in selectors.members_in_good_standing(on=on), days_late
        assert selectors.is_in_good_standing(member, on=on)


def test_the_grace_days_come_from_settings(share_class, settings):
    member, invoice = _member_with_a_march_fee_invoice(share_class)
    twenty_days_late = invoice.due_date + datetime.timedelta(days=20)
    settings.CLINIC_GOOD_STANDING_GRACE_DAYS = 30
    assert selectors.is_in_good_standing(member, on=twenty_days_late)
    settings.CLINIC_GOOD_STANDING_GRACE_DAYS = 5
    assert not selectors.is_in_good_standing(member, on=twenty_days_late)


def test_a_paid_invoice_does_not_count_however_late(share_class, settings):
    settings.CLINIC_GOOD_STANDING_GRACE_DAYS = 10
    member, invoice = _member_with_a_march_fee_invoice(share_class)
    late = invoice.due_date + datetime.timedelta(days=60)
    assert not selectors.is_in_good_standing(member, on=late)
    billing_services.payment_record(
        invoice=invoice, amount=invoice.total, paid_on=late, method="bank_transfer", today=late
    )
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert selectors.is_in_good_standing(member, on=late)


def test_another_members_overdue_invoice_does_not_affect_good_standing(share_class, settings):
    settings.CLINIC_GOOD_STANDING_GRACE_DAYS = 10
    late_payer, invoice = _member_with_a_march_fee_invoice(share_class)
    on_time = MemberFactory(admitted_on=D(2025, 1, 1))
    holding(on_time, share_class, 2)
    late = invoice.due_date + datetime.timedelta(days=30)
    assert set(selectors.members_in_good_standing(on=late)) == {on_time}
    assert not selectors.is_in_good_standing(late_payer, on=late)


def test_an_invoice_paid_after_the_record_date_still_counted_on_that_date(share_class, settings):
    settings.CLINIC_GOOD_STANDING_GRACE_DAYS = 10
    member, invoice = _member_with_a_march_fee_invoice(share_class)
    record_date = invoice.due_date + datetime.timedelta(days=30)
    paid_later = record_date + datetime.timedelta(days=5)
    billing_services.payment_record(
        invoice=invoice,
        amount=invoice.total,
        paid_on=paid_later,
        method="bank_transfer",
        today=paid_later,
    )
    assert not selectors.is_in_good_standing(member, on=record_date)
    assert selectors.is_in_good_standing(member, on=paid_later)
