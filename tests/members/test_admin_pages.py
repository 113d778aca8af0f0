"""The office's pages: lists run a fixed number of queries whatever their size, and every
form that is refused leaves the database exactly as it was."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.roles import Role
from members.models import (
    FeePlan,
    FeePlanAssignment,
    Member,
    MemberNumberSequence,
    MemberStatus,
    MemberStatusEvent,
    RegisterExport,
    ShareCertificate,
    ShareClass,
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
from tests.reauth import reauthenticate

pytestmark = pytest.mark.django_db
D = datetime.date
IMPORT_HEADER = (
    "first_name,last_name,email,date_of_birth,address,phone,preferred_language,fee_plan,"
    "admitted_on\n"
)


@pytest.fixture
def admin(client):
    user = user_with_role(Role.ADMINISTRATOR)
    client.force_login(user)
    return user


def count_queries(client, url: str, data: dict | None = None, *, post: bool = False) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = (client.post if post else client.get)(url, data or {})
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    assert response.status_code == 200, response.status_code
    return len(captured.captured_queries)


# --- Lists at two sizes ---------------------------------------------------------------------


def _users(count: int, prefix: str) -> list:
    User = get_user_model()
    return User.objects.bulk_create(
        User(email=f"{prefix}{i}@example.org", first_name=prefix.title(), last_name=str(i))
        for i in range(count)
    )


def _applicants(count: int, prefix: str) -> None:
    plan = FeePlanFactory(name=f"Plan {prefix}")
    Member.objects.bulk_create(
        Member(user=user, status=MemberStatus.APPLICANT, requested_fee_plan=plan)
        for user in _users(count, prefix)
    )


def _members(count: int, prefix: str, start: int) -> list[Member]:
    return Member.objects.bulk_create(
        Member(user=user, number=start + i, status=MemberStatus.ACTIVE, admitted_on=D(2025, 1, 1))
        for i, user in enumerate(_users(count, prefix))
    )


def _entries(members: list[Member], share_class: ShareClass, per_member: int = 1) -> None:
    ShareLedgerEntry.objects.bulk_create(
        ShareLedgerEntry(
            member=member, share_class=share_class, kind=ShareLedgerKind.SUBSCRIPTION,
            quantity=1, amount=Decimal("10.00"), currency="EUR", entry_date=D(2025, 1, 1),
        )
        for member in members
        for _ in range(per_member)
    )  # fmt: skip


def test_applications_list_runs_the_same_queries_for_10_and_1000_applicants(client, admin):
    url = reverse("members:applications")
    _applicants(10, "small")
    small = count_queries(client, url)
    _applicants(990, "large")
    assert count_queries(client, url, {"page": 30}) == small


def test_ledger_runs_the_same_queries_for_10_and_1000_entries(client, admin):
    url = reverse("members:ledger")
    share_class = ShareClassFactory()
    _entries(_members(10, "small", 1), share_class)
    small = count_queries(client, url)
    ShareClassFactory(name="Second class")
    _entries(_members(990, "large", 100), share_class)
    assert count_queries(client, url, {"page": 30}) == small


def test_fee_plans_page_runs_the_same_queries_for_10_and_1000_plans(client, admin):
    url = reverse("members:fee_plans")
    FeePlan.objects.bulk_create(
        FeePlan(name=f"Small {i}", amount=i, currency="EUR", period="monthly") for i in range(10)
    )
    small = count_queries(client, url)
    FeePlan.objects.bulk_create(
        FeePlan(name=f"Large {i}", amount=i, currency="EUR", period="yearly") for i in range(990)
    )
    assert count_queries(client, url) == small


def test_register_exports_page_runs_the_same_queries_however_many_exports(client, admin):
    url = reverse("members:register_exports")
    users = _users(30, "clerk")
    RegisterExport.objects.bulk_create(RegisterExport(requested_by=users[0]) for _ in range(2))
    small = count_queries(client, url)
    RegisterExport.objects.bulk_create(
        RegisterExport(requested_by=user, file="members/register/r.pdf") for user in users
    )
    assert count_queries(client, url) == small


def test_register_csv_runs_the_same_queries_for_10_and_1000_members(client, admin):
    url = reverse("members:register_csv")
    reauthenticate(client)
    share_class = ShareClassFactory()
    _entries(_members(10, "small", 1), share_class)
    small = count_queries(client, url)
    _entries(_members(990, "large", 100), share_class)
    assert count_queries(client, url) == small


def test_member_page_runs_the_same_queries_however_long_the_members_history(client, admin):
    share_class = ShareClassFactory()
    member = MemberFactory(admitted_on=D(2020, 1, 1))
    url = reverse("members:member_detail", args=[member.pk])
    _entries([member], share_class, per_member=2)
    small = count_queries(client, url)
    _entries([member], share_class, per_member=300)
    plans = FeePlan.objects.bulk_create(
        FeePlan(name=f"History {i}", amount=i, currency="EUR", period="monthly") for i in range(40)
    )
    FeePlanAssignment.objects.bulk_create(
        FeePlanAssignment(
            member=member,
            plan=plan,
            valid_from=D(2020, 1, 1) + datetime.timedelta(days=10 * i),
            valid_to=D(2020, 1, 1) + datetime.timedelta(days=10 * i + 9),
        )
        for i, plan in enumerate(plans)
    )
    MemberStatusEvent.objects.bulk_create(
        MemberStatusEvent(
            member=member, from_status="active", to_status="active", reason=f"Note {i}",
            effective_on=D(2021, 1, 1), recorded_by=admin,
        )
        for i in range(100)
    )  # fmt: skip
    assert count_queries(client, url) == small


def test_import_preview_runs_the_same_queries_for_10_and_1000_rows(client, admin):
    FeePlanFactory(name="Tier 1")
    MemberFactory(user__email="taken@example.org")
    url = reverse("members:register_import")

    def upload(rows: int) -> dict:
        lines = "".join(
            f"Ana,Row{i},ana{i}@example.org,1980-01-02,{i} Mill St,,,Tier 1,2025-03-01\n"
            for i in range(rows)
        )
        file = SimpleUploadedFile("batch.csv", (IMPORT_HEADER + lines).encode())
        return {"file": file}

    small = count_queries(client, url, upload(10), post=True)
    assert count_queries(client, url, upload(1000), post=True) == small


# --- Refused forms change nothing ---------------------------------------------------------

SNAPSHOT_MODELS = [
    get_user_model(),
    Member,
    MemberStatusEvent,
    MemberNumberSequence,
    FeePlan,
    FeePlanAssignment,
    ShareClass,
    ShareLedgerEntry,
    ShareCertificate,
    RegisterExport,
]


def snapshot() -> dict:
    # last_login moves whenever someone logs in; it is not part of what a form changes.
    return {
        model.__name__: [
            {k: v for k, v in row.items() if k != "last_login"}
            for row in model.objects.order_by("pk").values()
        ]
        for model in SNAPSHOT_MODELS
    }


@pytest.fixture
def world():
    share_class = ShareClassFactory(minimum_holding=1)
    plan = FeePlanFactory(name="Tier 1")
    other_plan = FeePlanFactory(name="Tier 2")
    giver = MemberFactory(number=1, admitted_on=D(2025, 1, 1))
    receiver = MemberFactory(number=2, admitted_on=D(2025, 1, 1))
    lapsed = MemberFactory(number=3, admitted_on=D(2025, 1, 1), status=MemberStatus.WITHDRAWN)
    FeePlanAssignment.objects.create(member=giver, plan=plan, valid_from=D(2025, 1, 1))
    entry = holding(giver, share_class, 2)
    holding(receiver, share_class, 1)
    MemberNumberSequence.objects.update_or_create(pk=1, defaults={"last_number": 3})
    return {
        "share_class": share_class,
        "plan": plan,
        "other_plan": other_plan,
        "giver": giver,
        "receiver": receiver,
        "lapsed": lapsed,
        "entry": entry,
        "applicant": ApplicantFactory(),
    }


TODAY = timezone.localdate
TOMORROW = lambda: (TODAY() + datetime.timedelta(days=1)).isoformat()  # noqa: E731

# (name, url name, url kwargs, posted data, expected status)
REFUSED = [
    ("join without an email", "join", lambda w: {},
     lambda w: {"first_name": "Kaya", "last_name": "K", "date_of_birth": "1990-01-01",
                "address": "1 Lane", "preferred_language": "en", "notice_delivery": "email",
                "payment_method": "fee_plan", "requested_fee_plan": w["plan"].pk,
                "agree_to_rules": "on"}, 400),
    ("reject without a reason", "members:application_reject",
     lambda w: {"pk": w["applicant"].pk}, lambda w: {"reason": ""}, 400),
    ("status change not allowed", "members:member_status", lambda w: {"pk": w["giver"].pk},
     lambda w: {"to_status": "applicant", "effective_on": "2025-06-01", "reason": "x"}, 400),
    ("status change without reason", "members:member_status", lambda w: {"pk": w["giver"].pk},
     lambda w: {"to_status": "suspended", "effective_on": "2025-06-01", "reason": ""}, 400),
    ("status change in the future", "members:member_status", lambda w: {"pk": w["giver"].pk},
     lambda w: {"to_status": "suspended", "effective_on": TOMORROW(), "reason": "x"}, 400),
    ("plan with a bad date", "members:member_plan", lambda w: {"pk": w["giver"].pk},
     lambda w: {"plan": w["other_plan"].pk, "valid_from": "soon"}, 400),
    ("plan starting before the current one", "members:member_plan",
     lambda w: {"pk": w["giver"].pk},
     lambda w: {"plan": w["other_plan"].pk, "valid_from": "2024-06-01"}, 400),
    ("plan for someone who left", "members:member_plan", lambda w: {"pk": w["lapsed"].pk},
     lambda w: {"plan": w["other_plan"].pk, "valid_from": "2025-06-01"}, 400),
    ("orientation with a bad date", "members:member_orientation",
     lambda w: {"pk": w["giver"].pk}, lambda w: {"attended_on": "yesterday"}, 400),
    ("subscribe no shares", "members:member_shares",
     lambda w: {"pk": w["giver"].pk, "action": "subscribe"},
     lambda w: {"subscribe-share_class": w["share_class"].pk,
                "subscribe-entry_date": "2025-06-01", "subscribe-quantity": 0}, 400),
    ("subscribe for someone who left", "members:member_shares",
     lambda w: {"pk": w["lapsed"].pk, "action": "subscribe"},
     lambda w: {"subscribe-share_class": w["share_class"].pk,
                "subscribe-entry_date": "2025-06-01", "subscribe-quantity": 1}, 400),
    ("payment of nothing", "members:member_shares",
     lambda w: {"pk": w["giver"].pk, "action": "payment"},
     lambda w: {"payment-share_class": w["share_class"].pk,
                "payment-entry_date": "2025-06-01", "payment-amount": "0"}, 400),
    ("transfer more than held", "members:member_shares",
     lambda w: {"pk": w["giver"].pk, "action": "transfer"},
     lambda w: {"transfer-share_class": w["share_class"].pk,
                "transfer-entry_date": "2025-06-01", "transfer-quantity": 5,
                "transfer-to_member_number": 2}, 400),
    ("transfer to nobody", "members:member_shares",
     lambda w: {"pk": w["giver"].pk, "action": "transfer"},
     lambda w: {"transfer-share_class": w["share_class"].pk,
                "transfer-entry_date": "2025-06-01", "transfer-quantity": 1,
                "transfer-to_member_number": 99}, 400),
    ("redeem below the minimum", "members:member_shares",
     lambda w: {"pk": w["receiver"].pk, "action": "redeem"},
     lambda w: {"redeem-share_class": w["share_class"].pk,
                "redeem-entry_date": "2025-06-01", "redeem-quantity": 2}, 400),
    ("reverse without a reason", "members:ledger_reverse", lambda w: {"pk": w["entry"].pk},
     lambda w: {"reason": ""}, 302),
    ("new plan with a negative amount", "members:fee_plans", lambda w: {},
     lambda w: {"name": "Tier X", "amount": "-1", "period": "monthly"}, 400),
    ("new plan with a taken name", "members:fee_plans", lambda w: {},
     lambda w: {"name": "Tier 1", "amount": "5", "period": "monthly"}, 400),
    ("plan edit with a bad period", "members:fee_plan_edit", lambda w: {"pk": w["plan"].pk},
     lambda w: {"name": "Renamed", "amount": "5", "period": "weekly"}, 400),
    ("import with an invalid row", "members:register_import", lambda w: {},
     lambda w: {"file": SimpleUploadedFile(
         "batch.csv",
         (IMPORT_HEADER + "Ana,A,ana@example.org,1980-01-02,1 St,,,Tier 1,\n"
          "Bo,B,not-an-email,1980-01-02,2 St,,,,\n").encode())}, 400),
    ("import of an empty upload", "members:register_import", lambda w: {},
     lambda w: {"file": SimpleUploadedFile("batch.csv", b"")}, 400),
    ("import confirmation forged", "members:register_import", lambda w: {},
     lambda w: {"confirm": "forged"}, 302),
]  # fmt: skip


@pytest.mark.parametrize(
    ("what", "name", "kwargs", "data", "status"), REFUSED, ids=[case[0] for case in REFUSED]
)
def test_a_refused_form_changes_nothing(
    client, admin, world, what, name, kwargs, data, status, django_capture_on_commit_callbacks
):
    before = snapshot()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse(name, kwargs=kwargs(world)), data(world))
    assert response.status_code == status
    assert snapshot() == before
    assert callbacks == []
    if status == 400:
        assert b"invalid-feedback" in response.content or b"alert-danger" in response.content


def test_plan_edit_refused_keeps_the_saved_name_in_the_title(client, admin, world):
    url = reverse("members:fee_plan_edit", args=[world["plan"].pk])
    response = client.post(url, {"name": "Renamed", "amount": "-5", "period": "monthly"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "<h1>Tier 1</h1>" in page
    assert 'value="Renamed"' in page  # what they typed stays in the field to correct it


def test_a_members_refused_details_and_certificate_requests_change_nothing(
    client, world, django_capture_on_commit_callbacks
):
    member = world["receiver"]
    client.force_login(member.user)
    empty_class = ShareClassFactory(name="Never held")
    before = snapshot()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        details = client.post(
            reverse("members:my_details"),
            {"first_name": "", "last_name": "X", "address": "", "preferred_language": "en",
             "notice_delivery": "post"},
        )  # fmt: skip
        certificate = client.post(reverse("members:certificate_request", args=[empty_class.pk]))
    assert details.status_code == 400
    assert certificate.status_code == 302
    assert snapshot() == before
    assert callbacks == []


def test_administration_counts_link_to_what_waits_and_read_naturally(client, admin):
    page = client.get(reverse("administration")).content.decode()
    assert "No applications waiting" in page
    ApplicantFactory()
    page = client.get(reverse("administration")).content.decode()
    assert f'<a href="{reverse("members:applications")}">1 application waiting</a>' in page
    ApplicantFactory()
    assert "2 applications waiting" in client.get(reverse("administration")).content.decode()
