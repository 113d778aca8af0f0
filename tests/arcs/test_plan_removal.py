"""Goals, phases and interventions come out of a plan without being deleted."""

import datetime
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from arcs import selectors, services
from arcs.fhir import member_bundle
from arcs.models import ArcStatus, ArcVersion, Goal, Intervention, Measurement, Phase
from tests.arcs.factories import ArcFactory, CareSetting, GoalFactory, discipline, measure

pytestmark = pytest.mark.django_db


def add_phase(care, **kwargs) -> Phase:
    today = timezone.localdate()
    fields = {"name": "Strength", "planned_start": today, "planned_end": today}
    return services.phase_save(arc=care.arc, by=care.clinician.user, **{**fields, **kwargs})


def add_intervention(care, starts_on, ends_on=None) -> Intervention:
    return services.intervention_save(
        arc=care.arc,
        by=care.clinician.user,
        description="Physio sessions",
        discipline=discipline(),
        practitioner=None,
        frequency="weekly",
        starts_on=starts_on,
        ends_on=ends_on,
    )


def second_goal(care) -> Goal:
    return GoalFactory(arc=care.arc, description="Walk 2 km", measure=measure("walking-distance"),
                       baseline=Decimal("0.5"), target=Decimal("2"))  # fmt: skip


def test_removing_a_goal_keeps_it_and_its_measures_and_records_a_version(client):
    care = CareSetting()
    goal = second_goal(care)
    today = timezone.localdate()
    services.measurement_record(
        arc=care.arc, measure=goal.measure, value=Decimal("1"), measured_on=today,
        by=care.clinician.user,
    )  # fmt: skip
    client.force_login(care.clinician.user)
    url = reverse("arcs:plan_item_remove", args=[care.arc.pk, "goal", goal.pk])
    assert "Walk 2 km" in client.get(url).content.decode()
    response = client.post(url, {"reason": "Walking is fine now"})
    assert response.url == reverse("arcs:arc_detail", args=[care.arc.pk])
    goal.refresh_from_db()
    assert goal.removed_on == timezone.localdate()
    assert goal.removal_reason == "Walking is fine now"
    assert Measurement.objects.filter(measure=goal.measure, arc=care.arc).count() == 1
    version = ArcVersion.objects.filter(arc=care.arc).order_by("-number").first()
    assert version.changed_by == care.clinician.user
    assert version.summary == "Goal removed: Walk 2 km (Walking is fine now)"
    assert version.snapshot["goals"][str(goal.pk)]["removed_on"] == timezone.localdate().isoformat()
    progress = selectors.goal_progress(selectors.arc_with_plan(care.arc, shared_notes_only=True))
    assert [item.goal for item in progress] == [care.goal]


def test_history_shows_the_removal_between_versions(client):
    care = CareSetting()
    goal = second_goal(care)
    services.goal_save(arc=care.arc, goal=goal, by=care.clinician.user, description="Walk 3 km")
    services.goal_remove(arc=care.arc, goal=goal, by=care.clinician.user)
    client.force_login(care.clinician.user)
    html = client.get(reverse("arcs:arc_history", args=[care.arc.pk])).content.decode()
    assert "Goal removed: Walk 3 km" in html
    assert "removed on" in html


def test_the_last_goal_of_an_arc_under_way_cannot_be_removed(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    response = client.post(
        reverse("arcs:plan_item_remove", args=[care.arc.pk, "goal", care.goal.pk]), {"reason": ""}
    )
    assert response.status_code == 200
    assert "keeps at least one measurable goal" in response.content.decode()
    care.goal.refresh_from_db()
    assert care.goal.removed_on is None


def test_an_arc_whose_goals_were_all_removed_cannot_start():
    care = CareSetting()
    draft = ArcFactory(member=care.member, status=ArcStatus.DRAFT, activated_on=None)
    goal = GoalFactory(arc=draft)
    services.goal_remove(arc=draft, goal=goal, by=care.clinician.user)
    with pytest.raises(ValidationError, match="at least one measurable goal"):
        services.arc_transition(arc=draft, to_status=ArcStatus.ACTIVE, by=care.clinician.user)


def test_removing_a_running_intervention_ends_it_today():
    care = CareSetting()
    today = timezone.localdate()
    running = add_intervention(care, today - datetime.timedelta(days=10))
    services.intervention_remove(arc=care.arc, intervention=running, by=care.clinician.user)
    running.refresh_from_db()
    assert running.ends_on == today and running.removed_on == today
    arc = selectors.arc_with_plan(care.arc, shared_notes_only=True)
    assert selectors.upcoming_interventions(arc) == []


def test_removing_a_future_intervention_cancels_it_and_fhir_says_so():
    care = CareSetting()
    later = timezone.localdate() + datetime.timedelta(days=10)
    future = add_intervention(care, later, later + datetime.timedelta(days=30))
    services.intervention_remove(arc=care.arc, intervention=future, by=care.clinician.user)
    future.refresh_from_db()
    assert future.ends_on == later + datetime.timedelta(days=30)
    bundle = json.loads(member_bundle(care.member).model_dump_json(exclude_none=True))
    plan = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "CarePlan"
    )
    assert [a["detail"]["status"] for a in plan["activity"]] == ["cancelled"]


def test_removed_goal_is_cancelled_in_the_fhir_bundle():
    care = CareSetting()
    goal = second_goal(care)
    services.goal_remove(arc=care.arc, goal=goal, by=care.clinician.user)
    bundle = json.loads(member_bundle(care.member).model_dump_json(exclude_none=True))
    statuses = {
        e["resource"]["id"]: e["resource"]["lifecycleStatus"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Goal"
    }
    assert statuses == {f"goal-{care.goal.pk}": "active", f"goal-{goal.pk}": "cancelled"}


def test_removed_phase_is_no_longer_the_current_phase_and_the_member_does_not_see_it(client):
    care = CareSetting()
    phase = add_phase(care, name="Hydrotherapy")
    client.force_login(care.clinician.user)
    client.post(reverse("arcs:plan_item_remove", args=[care.arc.pk, "phase", phase.pk]), {})
    phase.refresh_from_db()
    assert phase.removed_on == timezone.localdate()
    assert (
        selectors.current_phase(selectors.arc_with_plan(care.arc, shared_notes_only=True)) is None
    )
    member_client = Client()  # not the clinician's session, which holds their flash message
    member_client.force_login(care.member.user)
    html = member_client.get(reverse("arcs:my_care_arc")).content.decode()
    assert "Hydrotherapy" not in html


def test_removed_items_cannot_be_changed_or_removed_again(client):
    care = CareSetting()
    phase = add_phase(care)
    services.phase_remove(arc=care.arc, phase=phase, by=care.clinician.user)
    client.force_login(care.clinician.user)
    assert (
        client.get(
            reverse("arcs:plan_item_edit", args=[care.arc.pk, "phase", phase.pk])
        ).status_code
        == 404
    )
    assert (
        client.post(
            reverse("arcs:plan_item_remove", args=[care.arc.pk, "phase", phase.pk]), {}
        ).status_code
        == 404
    )
    with pytest.raises(ValidationError, match="already removed"):
        services.phase_remove(arc=care.arc, phase=phase, by=care.clinician.user)
    with pytest.raises(ValidationError, match="can no longer change"):
        services.phase_save(arc=care.arc, phase=phase, by=care.clinician.user, name="Again")


def test_plan_of_a_closed_arc_cannot_lose_items():
    care = CareSetting()
    phase = add_phase(care)
    services.arc_transition(arc=care.arc, to_status=ArcStatus.ACHIEVED, by=care.clinician.user)
    care.arc.refresh_from_db()
    with pytest.raises(ValidationError, match="can no longer change"):
        services.phase_remove(arc=care.arc, phase=phase, by=care.clinician.user)


def test_who_may_remove_plan_items(client):
    care = CareSetting()
    phase = add_phase(care)
    url = reverse("arcs:plan_item_remove", args=[care.arc.pk, "phase", phase.pk])
    client.force_login(care.outsider.user)
    assert client.post(url, {}).status_code == 404
    client.force_login(care.member.user)
    assert client.post(url, {}).status_code == 403
    client.force_login(care.hub.user)
    assert (
        client.get(
            reverse("arcs:plan_item_remove", args=[care.arc.pk, "nonsense", phase.pk])
        ).status_code
        == 404
    )
    other = ArcFactory()
    assert (
        client.get(reverse("arcs:plan_item_remove", args=[other.pk, "phase", phase.pk])).status_code
        == 404
    )
    phase.refresh_from_db()
    assert phase.removed_on is None
    assert client.post(url, {"reason": "Not needed"}).status_code == 302
    phase.refresh_from_db()
    assert phase.removed_on is not None


def test_arc_page_offers_removal_and_shows_removed_items(client):
    care = CareSetting()
    phase = add_phase(care, name="Balance work")
    client.force_login(care.clinician.user)
    remove_url = reverse("arcs:plan_item_remove", args=[care.arc.pk, "phase", phase.pk])
    assert remove_url in client.get(reverse("arcs:arc_detail", args=[care.arc.pk])).content.decode()
    services.phase_remove(arc=care.arc, phase=phase, by=care.clinician.user, reason="Done early")
    html = client.get(reverse("arcs:arc_detail", args=[care.arc.pk])).content.decode()
    assert remove_url not in html
    assert "<del>Balance work</del>" in html and "Done early" in html
