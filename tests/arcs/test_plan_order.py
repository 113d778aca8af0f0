"""A plan is shown in its order wherever it appears: the plan is read without an ORDER BY
and put in order by ``arcs.selectors.plan_*`` (goals by target date, phases by start,
interventions by start, notes latest first)."""

import datetime
import json

import pytest
from django.urls import reverse

from arcs import selectors, services
from arcs.models import Intervention, Phase
from tests.arcs.factories import CareSetting, GoalFactory, discipline

pytestmark = pytest.mark.django_db


def between(html: str, *texts: str) -> list[int]:
    return [html.index(text) for text in texts]


def test_plan_items_entered_out_of_order_are_shown_in_order(client):
    care = CareSetting()
    today = datetime.date.today()
    day = datetime.timedelta(days=1)
    # Entered latest first, so the rows' primary keys run against their dates.
    for name, start in [("Phase late", 40), ("Phase middle", 20), ("Phase early", -5)]:
        Phase.objects.create(
            arc=care.arc, name=name, planned_start=today + start * day,
            planned_end=today + (start + 15) * day,
        )  # fmt: skip
    for text, start in [("Swim later", 30), ("Walk first", 1)]:
        Intervention.objects.create(
            arc=care.arc, discipline=discipline(), description=text, frequency="weekly",
            starts_on=today + start * day,
        )  # fmt: skip
    care.goal.delete()
    GoalFactory(arc=care.arc, description="Goal far", target_date=today + 200 * day)
    GoalFactory(arc=care.arc, description="Goal near", target_date=today + 50 * day)
    for text in ("Note older", "Note newer"):
        services.note_add(arc=care.arc, text=text, visibility="shared", by=care.hub.user)

    arc = selectors.arc_with_plan(care.arc, shared_notes_only=False)
    assert [p.name for p in selectors.plan_phases(arc)] == [
        "Phase early", "Phase middle", "Phase late",
    ]  # fmt: skip
    assert selectors.current_phase(arc).name == "Phase early"

    client.force_login(care.member.user)
    mine = client.get(reverse("arcs:my_care_arc")).content.decode()
    assert between(mine, "Walk first", "Swim later") == sorted(
        between(mine, "Walk first", "Swim later")
    )
    assert between(mine, "Goal near", "Goal far") == sorted(between(mine, "Goal near", "Goal far"))
    assert between(mine, "Note newer", "Note older") == sorted(
        between(mine, "Note newer", "Note older")
    )
    bundle = json.loads(client.get(reverse("arcs:my_fhir_export")).content)
    (plan,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "CarePlan"
    ]
    assert [a["detail"]["scheduledString"] for a in plan["activity"]] == ["weekly", "weekly"]
    assert [a["detail"]["description"] for a in plan["activity"]] == [
        "Walk first (weekly)", "Swim later (weekly)",
    ]  # fmt: skip
    assert [n["text"] for n in plan["note"]] == ["Note newer", "Note older"]

    client.force_login(care.clinician.user)
    page = client.get(reverse("arcs:arc_detail", args=[care.arc.pk])).content.decode()
    order = between(page, "Phase early", "Phase middle", "Phase late", "Walk first", "Swim later")
    assert order == sorted(order)
