import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from arcs import services
from arcs.models import AccessLogEntry, Arc, ArcStatus, ArcVersion, Goal
from arcs.selectors import access_log, arc_outcome_counts, snapshot_diff
from tests.arcs.factories import ArcFactory, CareSetting, discipline, measure

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today


@pytest.mark.parametrize(
    ("start", "to", "allowed"),
    [
        (ArcStatus.DRAFT, ArcStatus.ACTIVE, True),
        (ArcStatus.DRAFT, ArcStatus.ACHIEVED, False),
        (ArcStatus.ACTIVE, ArcStatus.ON_HOLD, True),
        (ArcStatus.ON_HOLD, ArcStatus.ACTIVE, True),
        (ArcStatus.ON_HOLD, ArcStatus.ACHIEVED, False),
        (ArcStatus.ACTIVE, ArcStatus.ACHIEVED, True),
        (ArcStatus.ACHIEVED, ArcStatus.ACTIVE, False),
        (ArcStatus.DISCONTINUED, ArcStatus.ACTIVE, False),
        (ArcStatus.ACTIVE, ArcStatus.DRAFT, False),
    ],
)
def test_status_machine(start, to, allowed):
    care = CareSetting()
    Arc.objects.filter(pk=care.arc.pk).update(
        status=start,
        closed_on=TODAY() if start in ("achieved", "discontinued") else None,
        discontinued_reason="moved" if start == "discontinued" else "",
    )
    care.arc.refresh_from_db()
    if allowed:
        arc = services.arc_transition(arc=care.arc, to_status=to, by=care.hub.user)
        assert arc.status == to
        assert arc.status_changes.get().from_status == start
    else:
        with pytest.raises(ValidationError, match="cannot become"):
            services.arc_transition(arc=care.arc, to_status=to, by=care.hub.user)
        care.arc.refresh_from_db()
        assert care.arc.status == start


def test_discontinuing_needs_a_reason_and_records_it():
    care = CareSetting()
    with pytest.raises(ValidationError, match="reason"):
        services.arc_transition(arc=care.arc, to_status="discontinued", by=care.hub.user)
    arc = services.arc_transition(
        arc=care.arc, to_status="discontinued", by=care.hub.user, reason="Moved away"
    )
    assert (arc.discontinued_reason, arc.closed_on) == ("Moved away", timezone.localdate())


def test_database_refuses_a_discontinued_arc_without_reason():
    care = CareSetting()
    with pytest.raises(IntegrityError), transaction.atomic():
        Arc.objects.filter(pk=care.arc.pk).update(status="discontinued", closed_on=TODAY())


def test_an_arc_cannot_start_without_a_goal():
    care = CareSetting()
    draft = ArcFactory(member=care.member, status=ArcStatus.DRAFT, activated_on=None)
    with pytest.raises(ValidationError, match="goal"):
        services.arc_transition(arc=draft, to_status="active", by=care.hub.user)


def test_every_plan_change_is_a_version_with_who_when_and_what():
    care = CareSetting()
    arc = services.arc_create(
        member=care.member,
        title="Sleep well",
        endpoint="Sleep through the night",
        lead_discipline=discipline("behavioural-health"),
        by=care.clinician.user,
    )
    goal = services.goal_save(
        arc=arc,
        by=care.clinician.user,
        measure=measure("gad-7"),
        description="Less anxiety",
        baseline=Decimal(15),
        target=Decimal(5),
        target_date=TODAY() + datetime.timedelta(days=60),
    )
    services.goal_save(
        arc=arc,
        goal=goal,
        by=care.hub.user,
        target=Decimal(4),
        description=goal.description,
        measure=goal.measure,
        baseline=goal.baseline,
        target_date=goal.target_date,
    )
    services.arc_update_plan(arc=arc, by=care.hub.user, title="Sleep well again")
    versions = list(arc.versions.order_by("number"))
    assert [v.number for v in versions] == [1, 2, 3, 4]
    assert versions[-1].changed_by == care.hub.user
    assert versions[-1].snapshot["arc"]["title"] == "Sleep well again"
    changes = snapshot_diff(versions[1].snapshot, versions[2].snapshot)
    assert changes == [
        {
            "section": "Goal",
            "item": "Less anxiety",
            "field": "target",
            "before": "5.00",
            "after": "4.00",
            "kind": "changed",
        }
    ]
    added = snapshot_diff(versions[0].snapshot, versions[1].snapshot)
    assert [(c["section"], c["kind"]) for c in added] == [("Goal", "added")]


def test_unchanged_plan_makes_no_version():
    care = CareSetting()
    services.arc_update_plan(arc=care.arc, by=care.hub.user, title=care.arc.title)
    assert not ArcVersion.objects.exists()


def test_history_page_shows_the_diff_between_versions(client):
    care = CareSetting()
    services.arc_update_plan(arc=care.arc, by=care.hub.user, title="First title")
    services.arc_update_plan(arc=care.arc, by=care.clinician.user, title="Second title")
    client.force_login(care.clinician.user)
    page = client.get(reverse("arcs:arc_history", args=[care.arc.pk]) + "?from=1&to=2")
    html = page.content.decode()
    assert "<del>First title</del>" in html
    assert "<ins>Second title</ins>" in html
    assert care.clinician.user.get_full_name() in html


def test_closed_arcs_refuse_plan_changes():
    care = CareSetting()
    arc = services.arc_transition(arc=care.arc, to_status="achieved", by=care.hub.user)
    with pytest.raises(ValidationError, match="can no longer change"):
        services.arc_update_plan(arc=arc, by=care.hub.user, title="New")
    with pytest.raises(ValidationError, match="active or on-hold"):
        services.measurement_record(
            arc=arc, measure=measure(), value=Decimal(1), measured_on=TODAY(), by=care.hub.user
        )


def test_goal_target_must_differ_from_baseline_in_form_and_database(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    response = client.post(
        reverse("arcs:plan_item_add", args=[care.arc.pk, "goal"]),
        {
            "description": "Same",
            "measure": measure().pk,
            "baseline": "3",
            "target": "3",
            "target_date": "2030-01-01",
        },
    )
    assert response.status_code == 200
    assert "must differ" in response.content.decode()
    assert Goal.objects.count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        Goal.objects.create(
            arc=care.arc, measure=measure(), description="x", baseline=1, target=1,
            target_date=TODAY(),
        )  # fmt: skip


def test_status_change_view_with_bad_input_changes_nothing(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    response = client.post(
        reverse("arcs:arc_status", args=[care.arc.pk]), {"to_status": "discontinued"}
    )
    assert response.status_code == 400
    care.arc.refresh_from_db()
    assert care.arc.status == "active"
    response = client.post(reverse("arcs:arc_status", args=[care.arc.pk]), {"to_status": "draft"})
    assert response.status_code == 400


def test_measures_notes_and_changes_are_logged_and_refresh_activity(client):
    care = CareSetting()
    Arc.objects.filter(pk=care.arc.pk).update(
        last_activity_at=timezone.now() - datetime.timedelta(days=90)
    )
    client.force_login(care.clinician.user)
    client.post(
        reverse("arcs:measurement_add", args=[care.arc.pk]),
        {"measure": measure().pk, "value": "4.5", "measured_on": TODAY().isoformat()},
    )
    client.post(
        reverse("arcs:note_add", args=[care.arc.pk]), {"text": "Better", "visibility": "internal"}
    )
    actions = list(
        AccessLogEntry.objects.filter(action="change").values_list("record_type", flat=True)
    )
    assert sorted(actions) == ["measurement", "note"]
    care.arc.refresh_from_db()
    assert care.arc.last_activity_at > timezone.now() - datetime.timedelta(minutes=1)


def test_future_measures_are_refused():
    care = CareSetting()
    with pytest.raises(ValidationError, match="future"):
        services.measurement_record(
            arc=care.arc,
            measure=measure(),
            value=Decimal(1),
            measured_on=TODAY() + datetime.timedelta(days=1),
            by=care.clinician.user,
        )


def test_access_log_is_append_only():
    care = CareSetting()
    entry = services.access_log_record(
        user=care.hub.user, member_id=care.member.pk, action="view", record_type="arc",
        record_id=care.arc.pk,
    )  # fmt: skip
    with pytest.raises(ValidationError):
        entry.save()
    with pytest.raises(ValidationError):
        entry.delete()
    with pytest.raises(ValidationError):
        AccessLogEntry.objects.update(detail="x")
    with pytest.raises(ValidationError):
        AccessLogEntry.objects.all().delete()
    assert AccessLogEntry.objects.count() == 1


def test_hub_filters_the_access_log_by_member_and_by_user(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    client.get(reverse("arcs:arc_detail", args=[care.arc.pk]))
    other_arc = ArcFactory(member=care.other_member)
    client.force_login(care.hub.user)
    client.get(reverse("arcs:arc_detail", args=[other_arc.pk]))
    assert access_log(member_id=care.member.pk).get()["user_id"] == care.clinician.user.pk
    assert access_log(user_id=care.hub.user.pk).get()["member_id"] == care.other_member.pk
    page = client.get(reverse("arcs:access_log"), {"user": care.clinician.user.email})
    rows = page.context["rows"]
    assert [row["who"] for row in rows] == [care.clinician.user.get_full_name()]
    page = client.get(reverse("arcs:access_log"), {"member": care.other_member.number})
    assert [row["member_name"] for row in page.context["rows"]] == [care.other_member.full_name]


def test_arc_outcome_counts_for_billing():
    care = CareSetting()
    start, end = datetime.date(2026, 1, 1), datetime.date(2026, 3, 31)
    member = care.member
    ArcFactory(member=member, activated_on=datetime.date(2025, 6, 1))  # active throughout
    ArcFactory(
        member=member, status="achieved", activated_on=datetime.date(2025, 6, 1),
        closed_on=datetime.date(2026, 2, 1),
    )  # fmt: skip
    ArcFactory(
        member=member,
        status="achieved",
        activated_on=datetime.date(2025, 1, 1),
        closed_on=datetime.date(2025, 12, 1),
    )  # fmt: skip  (ended before the period)
    ArcFactory(member=member, status="draft", activated_on=None)
    ArcFactory(member=care.other_member, activated_on=datetime.date(2025, 6, 1))
    Arc.objects.filter(pk=care.arc.pk).update(activated_on=datetime.date(2026, 4, 2))  # after
    counts = arc_outcome_counts(member_ids=[member.pk], start=start, end=end)
    assert counts == {"active": 2, "achieved": 1}


def test_database_refuses_raw_changes_to_the_access_log():
    from django.db import DatabaseError, connection

    care = CareSetting()
    entry = services.access_log_record(
        user=care.hub.user,
        member_id=care.member.pk,
        action="view",
        record_type="arc",
        record_id=care.arc.pk,
    )
    for sql in (
        "UPDATE arcs_accesslogentry SET detail = 'x' WHERE id = %s",
        "DELETE FROM arcs_accesslogentry WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [entry.pk])
