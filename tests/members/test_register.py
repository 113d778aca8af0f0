import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from clinic.roles import Role
from members.models import (
    FeePlan,
    FeePlanAssignment,
    Member,
    MemberStatus,
    RegisterExport,
    ShareLedgerEntry,
    ShareLedgerKind,
)
from tests.factories import user_with_role
from tests.members.factories import (
    ApplicantFactory,
    FeePlanFactory,
    MemberFactory,
    ShareClassFactory,
    holding,
)
from tests.pdf import pdf_text
from tests.reauth import reauthenticate

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


@pytest.fixture
def admin(client):
    user = user_with_role(Role.ADMINISTRATOR)
    client.force_login(user)
    return user


def names(response) -> list[str]:
    return [member.full_name for member in response.context["page"]]


def test_register_searches_by_name_number_and_email(client, admin):
    rosa = MemberFactory(number=12, user__first_name="Rosa", user__last_name="Costa")
    MemberFactory(number=13, user__first_name="Jonas", user__last_name="Berg",
                  user__email="jonas@coop.example")  # fmt: skip
    ApplicantFactory(user__first_name="Rosa", user__last_name="Applicant")
    url = reverse("members:register")
    assert names(client.get(url, {"q": "rosa"})) == [rosa.full_name]
    assert names(client.get(url, {"q": "Rosa Costa"})) == [rosa.full_name]
    assert names(client.get(url, {"q": "12"})) == [rosa.full_name]
    assert names(client.get(url, {"q": "jonas@coop"})) == ["Jonas Berg"]


def test_register_filters_by_status_plan_and_missed_orientation(client, admin):
    plan = FeePlanFactory(name="Tier A")
    on_plan = MemberFactory(orientation_attended_on=TODAY())
    FeePlanAssignment.objects.create(member=on_plan, plan=plan, valid_from=on_plan.admitted_on)
    lapsed = MemberFactory(status=MemberStatus.LAPSED)
    newcomer = MemberFactory()
    url = reverse("members:register")
    assert names(client.get(url, {"status": "lapsed"})) == [lapsed.full_name]
    assert names(client.get(url, {"plan": plan.pk})) == [on_plan.full_name]
    response = client.get(url, {"orientation": "on"})
    assert names(response) == [newcomer.full_name]
    assert "Not yet attended" in response.content.decode()


def test_register_sorts_by_column_both_ways(client, admin):
    a = MemberFactory(number=1, user__last_name="Zeta")
    b = MemberFactory(number=2, user__last_name="Alpha")
    holding(b, ShareClassFactory(), 5)
    url = reverse("members:register")
    assert names(client.get(url, {"sort": "name"})) == [b.full_name, a.full_name]
    assert names(client.get(url, {"sort": "-number"})) == [b.full_name, a.full_name]
    assert names(client.get(url, {"sort": "-shares"})) == [b.full_name, a.full_name]
    assert names(client.get(url, {"sort": "bogus"})) == [a.full_name, b.full_name]


def _bulk_members(count: int, start: int, share_class) -> None:
    User = get_user_model()
    users = User.objects.bulk_create(
        User(email=f"bulk{start + i}@example.org", first_name="Bulk", last_name=str(i))
        for i in range(count)
    )
    members = Member.objects.bulk_create(
        Member(user=user, number=start + i, status=MemberStatus.ACTIVE, admitted_on=TODAY())
        for i, user in enumerate(users)
    )
    plan = FeePlanFactory(name=f"Plan {start}")
    FeePlanAssignment.objects.bulk_create(
        FeePlanAssignment(member=m, plan=plan, valid_from=TODAY()) for m in members
    )
    ShareLedgerEntry.objects.bulk_create(
        ShareLedgerEntry(
            member=m, share_class=share_class, kind=ShareLedgerKind.SUBSCRIPTION, quantity=1,
            currency="EUR",
        )
        for m in members
    )  # fmt: skip


def test_register_page_runs_the_same_queries_for_10_and_1000_members(
    client, admin, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    share_class = ShareClassFactory()
    _bulk_members(10, 1, share_class)
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("members:register"), {"sort": "shares", "page": 1})
    _bulk_members(990, 100, share_class)
    with CaptureQueriesContext(connection) as large:
        response = client.get(reverse("members:register"), {"sort": "shares", "page": 3})
    assert response.context["page"].paginator.count == 1000
    assert len(large.captured_queries) == len(small.captured_queries)
    with django_assert_num_queries(len(small.captured_queries)):
        client.get(reverse("members:register"), {"q": "Bulk", "sort": "-name", "page": 40})


def test_register_exports_as_csv_with_the_legal_columns(client, admin):
    reauthenticate(client)
    member = MemberFactory(
        number=3,
        user__first_name="Ines",
        user__last_name="Dubois",
        address="4 Mill Street",
        admitted_on=datetime.date(2025, 2, 3),
        status=MemberStatus.WITHDRAWN,
        ceased_on=datetime.date(2025, 9, 1),
    )
    holding(member, ShareClassFactory(), 2)
    ApplicantFactory()
    response = client.get(reverse("members:register_csv"))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:6] == [
        "Member number", "Name", "Address", "Date admitted", "Shares held", "Date ceased",
    ]  # fmt: skip
    assert rows[1:] == [
        ["3", "Ines Dubois", "4 Mill Street", "2025-02-03", "2", "2025-09-01", "Withdrawn"]
    ]


def test_register_csv_keeps_formulas_in_names_and_addresses_as_text(client, admin):
    reauthenticate(client)
    MemberFactory(
        number=4,
        user__first_name='=HYPERLINK("http://evil.example")',
        user__last_name="Smith",
        address="+1+1",
        admitted_on=datetime.date(2025, 2, 3),
    )
    response = client.get(reverse("members:register_csv"))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][1] == '\'=HYPERLINK("http://evil.example") Smith'
    assert rows[1][2] == "'+1+1"


def test_register_pdf_is_rendered_by_the_worker_and_downloaded(
    client, admin, django_capture_on_commit_callbacks
):
    reauthenticate(client)
    member = MemberFactory(
        number=8,
        user__first_name="Tova",
        user__last_name="Haddad",
        address="8 River Road",
        admitted_on=datetime.date(2025, 4, 5),
    )
    holding(member, ShareClassFactory(), 3)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("members:register_exports"))
    export = RegisterExport.objects.get()
    assert export.requested_by == admin
    page = client.get(reverse("members:register_exports")).content.decode()
    url = reverse("members:register_export_download", args=[export.pk])
    assert url in page
    text = pdf_text(b"".join(client.get(url).streaming_content))
    for expected in ("Register of members", "Tova Haddad", "8 River Road", "5 Apr 2025", "3"):
        assert expected in text


def test_approving_through_the_page_admits_the_applicant(client, admin):
    applicant = ApplicantFactory()
    client.get(reverse("members:application_detail", args=[applicant.pk]))
    response = client.post(reverse("members:application_approve", args=[applicant.pk]))
    assert response.status_code == 302
    applicant.refresh_from_db()
    assert applicant.status == MemberStatus.ACTIVE
    assert applicant.number is not None


def test_rejecting_without_a_reason_shows_the_error_and_changes_nothing(client, admin):
    applicant = ApplicantFactory()
    response = client.post(reverse("members:application_reject", args=[applicant.pk]), {})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    applicant.refresh_from_db()
    assert applicant.status == MemberStatus.APPLICANT
    client.post(reverse("members:application_reject", args=[applicant.pk]), {"reason": "Full"})
    applicant.refresh_from_db()
    assert (applicant.status, applicant.decision_reason) == (MemberStatus.REJECTED, "Full")


def test_applications_list_shows_only_waiting_applications(client, admin):
    waiting = ApplicantFactory(user__first_name="Waiting")
    MemberFactory(user__first_name="Admitted")
    page = client.get(reverse("members:applications")).content.decode()
    assert "Waiting" in page
    assert reverse("members:application_detail", args=[waiting.pk]) in page
    assert "Admitted" not in page


def test_status_change_through_the_page_and_an_invalid_one_refused(client, admin):
    member = MemberFactory(admitted_on=datetime.date(2025, 1, 1))
    url = reverse("members:member_status", args=[member.pk])
    today = TODAY().isoformat()
    response = client.post(url, {"to_status": "applicant", "effective_on": today, "reason": "x"})
    assert response.status_code == 400
    response = client.post(url, {"to_status": "suspended", "effective_on": today, "reason": ""})
    assert response.status_code == 400
    member.refresh_from_db()
    assert member.status == MemberStatus.ACTIVE
    response = client.post(url, {"to_status": "suspended", "effective_on": today, "reason": "Rude"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.status == MemberStatus.SUSPENDED
    page = client.get(reverse("members:member_detail", args=[member.pk])).content.decode()
    assert "Rude" in page


def test_share_actions_through_the_page_report_refusals_as_errors(client, admin):
    share_class = ShareClassFactory()
    giver, receiver = MemberFactory(number=1), MemberFactory(number=2)
    holding(giver, share_class, 1)
    url = reverse("members:member_shares", args=[giver.pk, "transfer"])
    data = {
        "transfer-share_class": share_class.pk,
        "transfer-entry_date": TODAY().isoformat(),
        "transfer-quantity": 2,
        "transfer-to_member_number": 2,
    }
    response = client.post(url, data)
    assert response.status_code == 400
    assert "holds 1" in response.content.decode()
    response = client.post(url, {**data, "transfer-to_member_number": 99})
    assert "no member with this number" in response.content.decode()
    response = client.post(url, {**data, "transfer-quantity": 1})
    assert response.status_code == 302
    assert receiver.share_entries.get().quantity == 1
    response = client.post(
        reverse("members:member_shares", args=[receiver.pk, "payment"]),
        {"payment-share_class": share_class.pk, "payment-entry_date": TODAY().isoformat(),
         "payment-amount": "50.00"},
    )  # fmt: skip
    assert response.status_code == 302
    assert receiver.share_entries.filter(kind="payment").get().amount == Decimal("50.00")


def test_plan_and_orientation_through_the_page(client, admin):
    member = MemberFactory(admitted_on=datetime.date(2025, 1, 1))
    plan = FeePlanFactory()
    client.post(
        reverse("members:member_plan", args=[member.pk]),
        {"plan": plan.pk, "valid_from": "2025-02-01"},
    )
    assert member.fee_plans.get().plan == plan
    response = client.post(
        reverse("members:member_orientation", args=[member.pk]), {"attended_on": "not a date"}
    )
    assert response.status_code == 400
    client.post(
        reverse("members:member_orientation", args=[member.pk]), {"attended_on": "2025-02-10"}
    )
    member.refresh_from_db()
    assert member.orientation_attended_on == datetime.date(2025, 2, 10)


def test_ledger_page_shows_share_capital_and_reverses_with_a_reason(client, admin):
    share_class = ShareClassFactory(par_value=Decimal("25.00"))
    entry = holding(MemberFactory(), share_class, 4)
    page = client.get(reverse("members:ledger")).content.decode()
    assert "100.00" in page
    client.post(reverse("members:ledger_reverse", args=[entry.pk]), {"reason": ""})
    assert not ShareLedgerEntry.objects.filter(reverses=entry).exists()
    client.post(reverse("members:ledger_reverse", args=[entry.pk]), {"reason": "Typo"})
    assert ShareLedgerEntry.objects.get(reverses=entry).quantity == -4


def test_fee_plans_are_created_and_edited_on_their_page(client, admin, settings):
    url = reverse("members:fee_plans")
    response = client.post(url, {"name": "Tier X", "amount": "-1", "period": "monthly"})
    assert response.status_code == 400
    assert not FeePlan.objects.exists()
    client.post(url, {"name": "Tier X", "amount": "30", "period": "yearly", "is_available": "on"})
    plan = FeePlan.objects.get()
    assert (plan.amount, plan.currency, plan.period) == (
        Decimal("30.00"),
        settings.CLINIC_CURRENCY,
        "yearly",
    )
    client.post(
        reverse("members:fee_plan_edit", args=[plan.pk]),
        {"name": "Tier X", "amount": "35", "currency": "usd", "period": "yearly"},
    )
    plan.refresh_from_db()
    assert (plan.amount, plan.currency, plan.is_available) == (Decimal("35.00"), "USD", False)
