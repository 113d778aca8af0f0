"""Plan changes decide on fresh, locked rows; measures, goals, FHIR and attainment rules."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from arcs import selectors, services
from arcs.fhir import member_bundle
from arcs.models import Arc, ArcStatus, ArcVersion, Goal, Intervention, Measurement
from careteam.models import CareTeamAssignment
from careteam.services import care_team_end
from tests.arcs.factories import ArcFactory, CareSetting, GoalFactory, discipline, measure
from tests.concurrency import at_once

# --- Two real connections --------------------------------------------------------------------


def run_together(*actions, hold_first: float = 0.0) -> list:
    """Run each action in its own thread (its own database connection), started together.

    The first action runs inside a transaction that holds its locks ``hold_first`` seconds
    after acting, so the others start while it is still uncommitted."""
    from django.db import transaction

    def held(action):
        def run() -> None:
            with transaction.atomic():
                action()
                threading.Event().wait(hold_first)

        return run

    def late(action):
        def run() -> None:
            threading.Event().wait(hold_first / 3)
            action()

        return run

    if hold_first:
        actions = (held(actions[0]), *(late(action) for action in actions[1:]))
    results = []
    for outcome in at_once(*actions):
        if isinstance(outcome, ValidationError):
            results.append(" ".join(outcome.messages))
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            results.append("ok")
    return results


def goal_fields() -> dict:
    return {
        "description": "Walk 1 km",
        "measure": measure("walking-distance"),
        "baseline": Decimal("100"),
        "target": Decimal("1000"),
        "target_date": timezone.localdate() + datetime.timedelta(days=60),
    }


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_goal_added_while_a_colleague_marks_the_arc_achieved_is_refused():
    assert connection.vendor == "postgresql"
    care = CareSetting()
    stale = Arc.objects.get(pk=care.arc.pk)  # the copy the second page loaded
    results = run_together(
        lambda: services.arc_transition(
            arc=care.arc, to_status=ArcStatus.ACHIEVED, by=care.hub.user
        ),
        lambda: services.goal_save(arc=stale, by=care.clinician.user, **goal_fields()),
        hold_first=0.6,
    )
    assert results[0] == "ok"
    assert "achieved" in results[1]
    assert not Goal.objects.filter(description="Walk 1 km").exists()
    latest = ArcVersion.objects.filter(arc=care.arc).order_by("-number").first()
    assert latest.snapshot["arc"]["status"] == ArcStatus.ACHIEVED


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_plan_changes_leave_a_newest_version_with_the_real_title():
    care = CareSetting()
    stale = Arc.objects.get(pk=care.arc.pk)
    results = run_together(
        lambda: services.arc_update_plan(arc=care.arc, by=care.hub.user, title="Renamed"),
        lambda: services.goal_save(arc=stale, by=care.clinician.user, **goal_fields()),
        hold_first=0.6,
    )
    assert results == ["ok", "ok"]
    latest = ArcVersion.objects.filter(arc=care.arc).order_by("-number").first()
    assert latest.snapshot["arc"]["title"] == "Renamed"
    assert Arc.objects.get(pk=care.arc.pk).title == "Renamed"
    titles = [v.snapshot["arc"]["title"] for v in care.arc.versions.order_by("number")]
    assert titles == ["Renamed", "Renamed"]  # no rename back that nobody made


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_editing_a_goal_a_colleague_just_removed_does_not_bring_it_back():
    care = CareSetting()
    extra = GoalFactory(arc=care.arc, description="Second goal")
    stale_goal = Goal.objects.get(pk=extra.pk)
    results = run_together(
        lambda: services.goal_remove(
            arc=care.arc, goal=extra, by=care.hub.user, reason="No longer relevant"
        ),
        lambda: services.goal_save(
            arc=care.arc, goal=stale_goal, by=care.clinician.user, description="Changed"
        ),
        hold_first=0.6,
    )
    assert results[0] == "ok"
    assert "removed" in results[1]
    extra.refresh_from_db()
    assert (extra.removed_on, extra.removal_reason, extra.description) == (
        timezone.localdate(),
        "No longer relevant",
        "Second goal",
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_plan_edit_with_an_arc_read_before_it_was_closed_is_refused():
    care = CareSetting()
    stale = Arc.objects.get(pk=care.arc.pk)
    results = run_together(
        lambda: services.arc_transition(
            arc=care.arc, to_status=ArcStatus.DISCONTINUED, by=care.hub.user, reason="Moved"
        ),
        lambda: services.arc_update_plan(arc=stale, by=care.clinician.user, title="Too late"),
        hold_first=0.6,
    )
    assert results[0] == "ok"
    assert "discontinued" in results[1]
    assert Arc.objects.get(pk=care.arc.pk).title != "Too late"


@pytest.mark.django_db
def test_stale_arc_copy_is_refused_without_threads_too():
    care = CareSetting()
    stale = Arc.objects.get(pk=care.arc.pk)
    services.arc_transition(arc=care.arc, to_status=ArcStatus.ACHIEVED, by=care.hub.user)
    for write in (
        lambda: services.arc_update_plan(arc=stale, by=care.hub.user, title="X"),
        lambda: services.arc_record_review(
            arc=stale, by=care.hub.user, notes="Held", outcome="continue"
        ),
        lambda: services.goal_save(arc=stale, by=care.hub.user, **goal_fields()),
        lambda: services.goal_save(arc=stale, goal=care.goal, by=care.hub.user, description="Y"),
    ):
        with pytest.raises(ValidationError):
            write()


# --- The plan form carries its version -------------------------------------------------------


@pytest.mark.django_db
def test_plan_form_saved_against_a_newer_version_is_refused_and_shows_the_change(client):
    care = CareSetting()
    services.arc_update_plan(arc=care.arc, by=care.hub.user, title="First title")
    url = reverse("arcs:arc_edit", args=[care.arc.pk])
    client.force_login(care.clinician.user)
    opened = client.get(url).context["form"]
    data = {name: opened[name].value() or "" for name in opened.fields}
    # A colleague renames the arc meanwhile.
    services.arc_update_plan(arc=care.arc, by=care.hub.user, title="Colleague's title")
    data["title"] = "My title"
    response = client.post(url, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "changed this plan after you opened it" in html
    assert "Colleague&#x27;s title" in html or "Colleague's title" in html
    assert Arc.objects.get(pk=care.arc.pk).title == "Colleague's title"


@pytest.mark.django_db
def test_plan_form_merges_a_field_it_did_not_touch(client):
    care = CareSetting()
    services.arc_update_plan(arc=care.arc, by=care.hub.user, title="First title")
    url = reverse("arcs:arc_edit", args=[care.arc.pk])
    client.force_login(care.clinician.user)
    opened = client.get(url).context["form"]
    data = {name: opened[name].value() or "" for name in opened.fields}
    services.arc_update_plan(arc=care.arc, by=care.hub.user, title="Colleague's title")
    data["endpoint"] = "A new endpoint"
    assert client.post(url, data).status_code == 302
    arc = Arc.objects.get(pk=care.arc.pk)
    assert (arc.title, arc.endpoint) == ("Colleague's title", "A new endpoint")


@pytest.mark.django_db
def test_saving_with_no_change_records_no_version(client):
    care = CareSetting()
    services.arc_update_plan(arc=care.arc, by=care.hub.user, title="Stable")
    before = care.arc.versions.count()
    client.force_login(care.clinician.user)
    url = reverse("arcs:arc_edit", args=[care.arc.pk])
    opened = client.get(url).context["form"]
    assert client.post(url, {n: opened[n].value() or "" for n in opened.fields}).status_code == 302
    goal_url = reverse("arcs:plan_item_edit", args=[care.arc.pk, "goal", care.goal.pk])
    opened = client.get(goal_url).context["form"]
    data = {n: opened[n].value() if opened[n].value() is not None else "" for n in opened.fields}
    assert client.post(goal_url, data).status_code == 302
    assert care.arc.versions.count() == before


# --- Measurements and goals ------------------------------------------------------------------


@pytest.mark.django_db
def test_measurement_dates_are_within_the_arcs_life():
    care = CareSetting()
    today = timezone.localdate()
    created_on = timezone.localdate(Arc.objects.get(pk=care.arc.pk).created_at)
    record = lambda day: services.measurement_record(  # noqa: E731
        arc=care.arc, measure=care.goal.measure, value=Decimal("5"), measured_on=day,
        by=care.clinician.user,
    )  # fmt: skip
    with pytest.raises(ValidationError, match="before the arc began"):
        record(created_on - datetime.timedelta(days=1))
    with pytest.raises(ValidationError, match="future"):
        record(today + datetime.timedelta(days=1))
    # A baseline taken while the arc was still a draft (before it was activated) is fine.
    record(created_on)
    assert Measurement.objects.filter(arc=care.arc).count() == 1


@pytest.mark.django_db
def test_measure_form_shows_the_date_error(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    response = client.post(
        reverse("arcs:measurement_add", args=[care.arc.pk]),
        {"measure": care.goal.measure.pk, "value": "4", "measured_on": "2001-01-01"},
    )
    assert response.status_code == 200
    assert "before the arc began" in response.content.decode()
    assert not Measurement.objects.exists()


@pytest.mark.django_db
def test_goal_target_lies_in_the_direction_the_measure_improves(client):
    care = CareSetting()
    wrong_way = {**goal_fields(), "baseline": Decimal("1000"), "target": Decimal("100")}
    with pytest.raises(ValidationError, match="Higher is better"):
        services.goal_save(arc=care.arc, by=care.clinician.user, **wrong_way)
    with pytest.raises(ValidationError, match="Lower is better"):
        services.goal_save(arc=care.arc, goal=care.goal, by=care.clinician.user, target=9)
    client.force_login(care.clinician.user)
    response = client.post(
        reverse("arcs:plan_item_add", args=[care.arc.pk, "goal"]),
        {
            "description": "Less pain",
            "measure": measure("pain-score").pk,
            "baseline": "3",
            "target": "8",
            "target_date": "2099-01-01",
        },
    )
    assert "Lower is better" in response.content.decode()
    assert Goal.objects.filter(arc=care.arc).count() == 1


# --- Interventions and their owners -------------------------------------------------------


@pytest.mark.django_db
def test_intervention_owner_must_be_on_the_team_and_is_flagged_after_leaving(client):
    care = CareSetting()
    fields = {
        "description": "Physio sessions",
        "discipline": discipline(),
        "frequency": "weekly",
        "starts_on": timezone.localdate(),
        "ends_on": None,
    }
    with pytest.raises(ValidationError, match="current care team"):
        services.intervention_save(
            arc=care.arc, by=care.hub.user, practitioner=care.outsider, **fields
        )
    item = services.intervention_save(
        arc=care.arc, by=care.hub.user, practitioner=care.clinician, **fields
    )
    assert list(selectors.interventions_needing_owner()) == []
    care_team_end(
        assignment=CareTeamAssignment.objects.get(practitioner=care.clinician), by=care.hub.user
    )
    assert list(selectors.interventions_needing_owner()) == [item]
    client.force_login(care.hub.user)
    dashboard = client.get(reverse("careteam:team_dashboard"))
    assert [i.pk for i in dashboard.context["interventions_unowned"].first] == [item.pk]
    assert "Interventions needing a new owner" in dashboard.content.decode()
    caseload = client.get(reverse("careteam:caseload"))
    assert [i.pk for i in caseload.context["interventions_unowned"].first] == [item.pk]
    listed = dashboard.context["interventions_unowned"].first[0]
    assert (listed.member_name, listed.practitioner_name) == (
        care.member.full_name,
        care.clinician.user.get_full_name(),
    )
    assert f"{care.member.full_name}: {item.description}" in dashboard.content.decode()


@pytest.mark.django_db
def test_the_dashboard_counts_every_intervention_needing_an_owner_and_lists_the_first_50(client):
    from arcs.models import Intervention

    care = CareSetting()
    Intervention.objects.bulk_create(
        [
            Intervention(
                arc=care.arc,
                discipline=discipline(),
                practitioner=care.outsider,  # never on this member's team
                description=f"Session {n}",
                frequency="weekly",
                starts_on=timezone.localdate(),
            )
            for n in range(52)
        ]
    )
    client.force_login(care.hub.user)
    page = client.get(reverse("careteam:team_dashboard")).content.decode()
    assert '<td id="interventions-unowned">52</td>' in page
    assert "The first 50 are listed." in page
    assert page.count(f"{care.member.full_name}: Session") == 50


# --- FHIR ------------------------------------------------------------------------------------


def fhir(member, kind, **kwargs) -> list:
    bundle = member_bundle(member, **kwargs)
    return [e.resource for e in bundle.entry if e.resource.get_resource_type() == kind]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "arc_status, starts_in, ends_in, expected",
    [
        (ArcStatus.DRAFT, 0, None, "not-started"),
        (ArcStatus.ACTIVE, 5, None, "scheduled"),
        (ArcStatus.ACTIVE, -5, None, "in-progress"),
        (ArcStatus.ACTIVE, -10, -2, "completed"),
        (ArcStatus.ON_HOLD, -5, None, "on-hold"),
        (ArcStatus.ACHIEVED, -5, None, "completed"),
        (ArcStatus.DISCONTINUED, -5, None, "stopped"),
    ],
)
def test_careplan_activity_status_follows_arc_and_dates(arc_status, starts_in, ends_in, expected):
    today = timezone.localdate()
    closed = arc_status in (ArcStatus.ACHIEVED, ArcStatus.DISCONTINUED)
    arc = ArcFactory(
        status=arc_status,
        closed_on=today if closed else None,
        discontinued_reason="Moved" if arc_status == ArcStatus.DISCONTINUED else "",
    )
    Intervention.objects.create(
        arc=arc, discipline=discipline(), description="Sessions", frequency="weekly",
        starts_on=today + datetime.timedelta(days=starts_in),
        ends_on=today + datetime.timedelta(days=ends_in) if ends_in is not None else None,
    )  # fmt: skip
    (plan,) = fhir(arc.member, "CarePlan", include_drafts=True)
    assert plan.activity[0].detail.status == expected


@pytest.mark.django_db
def test_goal_achievement_comes_from_measurements_not_the_arc_status():
    care = CareSetting()
    reached = GoalFactory(arc=care.arc, description="Reached", baseline=7, target=2)
    walking = GoalFactory(
        arc=care.arc, description="Missed", measure=measure("walking-distance"),
        baseline=100, target=2000,
    )  # fmt: skip
    for measured, value in ((care.goal.measure, "2"), (walking.measure, "900")):
        services.measurement_record(
            arc=care.arc, measure=measured, value=Decimal(value),
            measured_on=timezone.localdate(), by=care.clinician.user,
        )  # fmt: skip
    services.arc_transition(arc=care.arc, to_status=ArcStatus.ACHIEVED, by=care.hub.user)
    status = {
        g.description.text: g.achievementStatus.coding[0].code for g in fhir(care.member, "Goal")
    }
    assert status["Reached"] == "achieved"
    assert status["Missed"] == "not-achieved"
    assert reached.pk and walking.pk


@pytest.mark.django_db
def test_members_own_fhir_export_leaves_out_draft_arcs(client):
    care = CareSetting()
    draft = ArcFactory(member=care.member, status=ArcStatus.DRAFT, activated_on=None,
                       title="Secret draft plan")  # fmt: skip
    client.force_login(care.member.user)
    body = client.get(reverse("arcs:my_fhir_export")).content
    assert b"Secret draft plan" not in body
    assert f"arc-{draft.pk}" not in body.decode()
    assert f"arc-{care.arc.pk}" in body.decode()


# --- Attainment ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_attainment_window_is_twelve_calendar_months_with_leap_years():
    assert selectors.attainment_since(datetime.date(2024, 3, 1)) == datetime.date(2023, 3, 2)
    assert selectors.attainment_since(datetime.date(2025, 3, 1)) == datetime.date(2024, 3, 2)
    assert selectors.attainment_since(datetime.date(2024, 2, 29)) == datetime.date(2023, 3, 1)
    assert selectors.attainment_since(datetime.date(2023, 6, 1)) == datetime.date(2022, 6, 2)
    today = datetime.date(2023, 6, 1)
    ArcFactory(status=ArcStatus.ACHIEVED, closed_on=datetime.date(2022, 6, 1))  # 12 months + 1 day
    ArcFactory(status=ArcStatus.ACHIEVED, closed_on=datetime.date(2022, 6, 2))
    assert selectors.dashboard_counts(today=today)["achieved_12m"] == 1


@pytest.mark.django_db
def test_arc_discontinued_straight_from_draft_does_not_count_against_attainment(client):
    care = CareSetting()
    draft = ArcFactory(member=care.member, status=ArcStatus.DRAFT, activated_on=None)
    services.arc_transition(
        arc=draft, to_status=ArcStatus.DISCONTINUED, by=care.hub.user, reason="Never started"
    )
    started = ArcFactory(member=care.member)
    services.arc_transition(
        arc=started, to_status=ArcStatus.DISCONTINUED, by=care.hub.user, reason="Moved"
    )
    counts = selectors.dashboard_counts()
    assert counts["discontinued_12m"] == 1
    assert [a.pk for a in selectors.arcs_for_dashboard(which="discontinued_12m")] == [started.pk]
    rows = selectors.attainment_by_discipline()
    assert sum(row["discontinued"] for row in rows) == 1
    client.force_login(care.hub.user)
    html = client.get(reverse("careteam:team_dashboard")).content.decode()
    assert "do not count" in html
    assert "An arc on hold counts as active" in html
