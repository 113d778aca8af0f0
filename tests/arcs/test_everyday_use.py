"""Issue 14 for clinicians: measures within their range, corrections that keep the
original, reviews with notes and a decision, and confirmation before a status change."""

import datetime
import html
import json
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from arcs import services
from arcs.charts import nice_ticks
from arcs.models import (
    AccessLogEntry,
    Arc,
    ArcReview,
    ArcStatus,
    ArcStatusChange,
    Measurement,
    OutcomeMeasure,
)
from arcs.ucum import UCUM_SYSTEM
from tests.arcs.factories import ArcFactory, CareSetting, GoalFactory, measure

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def record(care, value: str, days_ago: int = 1, by=None) -> Measurement:
    return services.measurement_record(
        arc=care.arc,
        measure=care.goal.measure,
        value=Decimal(value),
        measured_on=TODAY() - datetime.timedelta(days=days_ago),
        by=(by or care.clinician).user,
    )


def chart_values(html: str) -> list[str]:
    return re.findall(r'class="chart-point"[^>]*data-value="([^"]+)"', html)


# --- Ranges -------------------------------------------------------------------------------


def test_a_pain_score_of_15_is_refused_with_a_field_error_and_nothing_is_stored(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    response = client.post(
        reverse("arcs:measurement_add", args=[care.arc.pk]),
        {"measure": care.goal.measure.pk, "value": "15", "measured_on": TODAY().isoformat()},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "goes from 0 to 10" in errors["value"][0]
    assert not Measurement.objects.exists()
    # The service refuses it too, whoever calls it.
    with pytest.raises(ValidationError) as refused:
        record(care, "15")
    assert "value" in refused.value.error_dict
    assert record(care, "10").value == 10  # the edge of the range is valid


def test_a_goal_outside_its_measures_range_is_a_field_error(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    response = client.post(
        reverse("arcs:plan_item_add", args=[care.arc.pk, "goal"]),
        {
            "description": "Pain down",
            "measure": measure("pain-score").pk,
            "baseline": "12",
            "target": "2",
            "target_date": (TODAY() + datetime.timedelta(days=30)).isoformat(),
        },
    )
    assert response.status_code == 200
    assert "baseline" in response.context["form"].errors
    assert care.arc.goals.count() == 1


def test_the_outcome_measure_form_asks_no_slug_and_checks_the_ucum_code(client):
    care = CareSetting()
    client.force_login(care.hub.user)
    url = reverse("arcs:outcome_measures")
    assert "slug" not in client.get(url).context["form"].fields
    data = {"name": "Resting pulse", "unit": "bpm", "direction": "lower"}
    response = client.post(url, {**data, "ucum_code": "bpm", "min_value": 20, "max_value": 250})
    assert "write /min" in response.context["form"].errors["ucum_code"][0]
    response = client.post(url, {**data, "ucum_code": "", "min_value": 90, "max_value": 20})
    assert "max_value" in response.context["form"].errors
    assert not OutcomeMeasure.objects.filter(name="Resting pulse").exists()
    response = client.post(url, {**data, "ucum_code": "", "min_value": 20, "max_value": 250})
    assert response.status_code == 302
    pulse = OutcomeMeasure.objects.get(name="Resting pulse")
    assert (pulse.slug, pulse.ucum_code) == ("resting-pulse", "/min")
    # A second measure of a similar name gets its own slug.
    client.post(url, {**data, "name": "Resting pulse!", "min_value": 20, "max_value": 250})
    assert OutcomeMeasure.objects.get(name="Resting pulse!").slug == "resting-pulse-2"


def test_every_demo_measure_has_a_range_and_a_valid_ucum_code():
    from arcs.ucum import validate_ucum_code

    for item in OutcomeMeasure.objects.all():
        assert item.min_value < item.max_value, item
        assert item.ucum_code, item
        validate_ucum_code(item.ucum_code)
    assert measure("systolic-blood-pressure").ucum_code == "mm[Hg]"
    assert measure("pain-score").max_value == 10


# --- Corrections ----------------------------------------------------------------------------


def test_the_author_corrects_a_value_the_original_stays_and_the_chart_shows_the_correction(
    client,
):
    care = CareSetting()
    record(care, "6", days_ago=3)
    wrong = record(care, "9")
    client.force_login(care.clinician.user)
    url = reverse("arcs:measurement_correct", args=[care.arc.pk, wrong.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "action": "correct",
            "value": "3",
            "measured_on": wrong.measured_on.isoformat(),
            "reason": "Typed 9 for 3",
        },
    )
    assert response.status_code == 302
    correction = Measurement.objects.get(corrects=wrong)
    assert (correction.value, correction.reason) == (3, "Typed 9 for 3")
    assert Measurement.objects.get(pk=wrong.pk).value == 9  # the original is kept
    page = client.get(reverse("arcs:arc_detail", args=[care.arc.pk])).content.decode()
    assert chart_values(page) == ["6", "3"]
    assert "<del>9" in page and "corrects 9: Typed 9 for 3" in page
    # The member's page charts the corrected series too.
    client.force_login(care.member.user)
    assert chart_values(client.get(reverse("arcs:my_care_arc")).content.decode()) == ["6", "3"]
    assert AccessLogEntry.objects.filter(
        record_type="measurement", record_id=correction.pk, action="change"
    ).exists()


def test_the_hub_coordinator_strikes_a_value_out_and_it_leaves_chart_and_export(client):
    care = CareSetting()
    kept = record(care, "5", days_ago=2)
    wrong = record(care, "8")
    client.force_login(care.hub.user)
    url = reverse("arcs:measurement_correct", args=[care.arc.pk, wrong.pk])
    # A strike-out needs its reason; without one nothing is written.
    assert client.post(url, {"action": "strike_out", "reason": ""}).status_code == 400
    assert Measurement.objects.count() == 2
    response = client.post(url, {"action": "strike_out", "reason": "Another member's score"})
    assert response.status_code == 302
    strike = Measurement.objects.get(corrects=wrong)
    assert strike.struck_out and strike.value is None
    assert list(Measurement.objects.current()) == [kept]
    page = client.get(reverse("arcs:arc_detail", args=[care.arc.pk])).content.decode()
    assert chart_values(page) == ["5"]
    assert "Another member&#x27;s score" in page
    bundle = client.get(reverse("arcs:member_fhir_export", args=[care.member.pk]))
    observations = [
        e["resource"]
        for e in json.loads(bundle.content)["entry"]
        if e["resource"]["resourceType"] == "Observation"
    ]
    assert [o["valueQuantity"]["value"] for o in observations] == [5.0]


def test_only_the_author_or_the_hub_coordinator_may_correct(client):
    care = CareSetting()
    measurement = record(care, "5", by=care.hub)
    url = reverse("arcs:measurement_correct", args=[care.arc.pk, measurement.pk])
    client.force_login(care.clinician.user)  # on the team, but not its author
    assert client.get(url).status_code == 403
    assert client.post(url, {"action": "strike_out", "reason": "x"}).status_code == 403
    client.force_login(care.outsider.user)
    assert client.get(url).status_code == 404
    client.force_login(care.member.user)
    assert client.get(url).status_code == 403
    with pytest.raises(ValidationError):
        services.measurement_strike_out(
            arc=care.arc, measurement=measurement, reason="x", by=care.clinician.user
        )
    assert Measurement.objects.count() == 1
    # A measurement of another arc is not found through this arc's address.
    other = ArcFactory(member=care.member)
    GoalFactory(arc=other)
    client.force_login(care.hub.user)
    assert (
        client.get(reverse("arcs:measurement_correct", args=[other.pk, measurement.pk])).status_code
        == 404
    )


def test_a_value_already_corrected_cannot_be_corrected_again_only_its_correction(client):
    care = CareSetting()
    first = record(care, "7")
    fields = {"value": Decimal("6"), "measured_on": first.measured_on, "reason": "Misread"}
    second = services.measurement_correct(
        arc=care.arc, measurement=first, by=care.clinician.user, **fields
    )
    with pytest.raises(ValidationError, match="already corrected"):
        services.measurement_correct(
            arc=care.arc, measurement=first, by=care.clinician.user, **fields
        )
    client.force_login(care.clinician.user)
    assert (
        client.get(reverse("arcs:measurement_correct", args=[care.arc.pk, first.pk])).status_code
        == 404
    )
    third = services.measurement_correct(
        arc=care.arc,
        measurement=second,
        by=care.hub.user,
        value=Decimal("5"),
        measured_on=first.measured_on,
        reason="Misread again",
    )
    assert list(Measurement.objects.current()) == [third]
    with pytest.raises(ValidationError):
        services.measurement_correct(
            arc=care.arc,
            measurement=third,
            by=care.hub.user,
            value=Decimal("50"),
            measured_on=first.measured_on,
            reason="Out of range",
        )


# --- Charts ---------------------------------------------------------------------------------


def test_chart_title_carries_the_unit_and_ticks_are_round(client):
    care = CareSetting()
    record(care, "6.5", days_ago=3)
    record(care, "3.2")
    client.force_login(care.clinician.user)
    html = client.get(reverse("arcs:arc_detail", args=[care.arc.pk])).content.decode()
    assert f"Progress toward: {care.goal.description} (Pain score, 0-10)" in html
    labels = re.findall(r'dominant-baseline="middle">([^<]+)<', html)
    assert labels == ["2", "4", "6", "8"]
    assert nice_ticks(Decimal("100"), Decimal("930")) == [0, 250, 500, 750, 1000]
    assert nice_ticks(Decimal("48.5"), Decimal("61")) == [45, 50, 55, 60, 65]


# --- FHIR -----------------------------------------------------------------------------------


def test_fhir_observations_and_goal_targets_carry_ucum_units_and_validate_as_r4(client):
    care = CareSetting()
    record(care, "4")
    walking = GoalFactory(
        arc=care.arc, measure=measure("walking-distance"), baseline=100, target=900
    )
    services.measurement_record(
        arc=care.arc,
        measure=walking.measure,
        value=Decimal("250"),
        measured_on=TODAY(),
        by=care.clinician.user,
    )
    client.force_login(care.member.user)
    bundle = Bundle.model_validate(json.loads(client.get(reverse("arcs:my_fhir_export")).content))
    quantities = []
    for entry in bundle.entry:
        resource = entry.resource
        if resource.get_resource_type() == "Observation":
            quantities.append(resource.valueQuantity)
        if resource.get_resource_type() == "Goal":
            quantities.extend(target.detailQuantity for target in resource.target)
    assert len(quantities) == 4
    assert {q.system for q in quantities} == {UCUM_SYSTEM}
    assert sorted((q.unit, q.code) for q in quantities) == [
        ("0-10", "{score}"),
        ("0-10", "{score}"),
        ("m", "m"),
        ("m", "m"),
    ]


# --- Status changes, confirmed ---------------------------------------------------------------


def test_arc_page_leads_with_measure_and_note_and_preselects_no_status(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    response = client.get(reverse("arcs:arc_detail", args=[care.arc.pk]))
    html = response.content.decode()
    assert html.index("Record a measure") < html.index("Write a progress note")
    assert html.index("Write a progress note") < html.index('id="status-heading"')
    assert html.index("Goals and progress") < html.index('id="status-heading"')
    form = response.context["status_form"]
    assert form["to_status"].value() is None
    assert form.fields["to_status"].choices[0] == ("", "Choose…")
    select = re.search(r'<select name="to_status".*?</select>', html, re.S).group(0)
    assert "selected" in re.search(r"<option[^>]*>Choose…", select).group(0)
    assert select.count("selected") == 1


def test_a_status_change_is_confirmed_on_a_page_that_says_what_happens(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    url = reverse("arcs:arc_status", args=[care.arc.pk])
    asked = client.post(url, {"to_status": "achieved", "reason": "Walks to the market"})
    assert asked.status_code == 200
    html = asked.content.decode()
    assert "Change the arc from Active to Achieved?" in html
    assert "endpoint attainment" in html and "Nobody is emailed" in html
    assert "This cannot be undone." in html
    care.arc.refresh_from_db()
    assert care.arc.status == ArcStatus.ACTIVE  # nothing happens before the confirmation
    done = client.post(
        url, {"to_status": "achieved", "reason": "Walks to the market", "confirm": "1"}
    )
    assert done.status_code == 302
    care.arc.refresh_from_db()
    assert care.arc.status == ArcStatus.ACHIEVED
    change = ArcStatusChange.objects.get(arc=care.arc)
    assert (change.to_status, change.reason) == ("achieved", "Walks to the market")


def test_discontinuing_needs_its_reason_before_the_confirmation(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    url = reverse("arcs:arc_status", args=[care.arc.pk])
    response = client.post(url, {"to_status": "discontinued", "reason": "", "confirm": "1"})
    assert response.status_code == 400
    assert "reason" in response.context["form"].errors
    assert Arc.objects.get(pk=care.arc.pk).status == ArcStatus.ACTIVE


# --- Reviews --------------------------------------------------------------------------------


def test_a_review_is_confirmed_then_kept_with_its_notes_and_outcome(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    url = reverse("arcs:arc_review", args=[care.arc.pk])
    assert client.post(url, {"notes": "", "outcome": "continue"}).status_code == 400
    data = {"notes": "Stairs without the rail.", "outcome": "continue"}
    asked = client.post(url, data)
    assert asked.status_code == 200
    due = TODAY() + datetime.timedelta(days=care.arc.review_every_days)
    assert "The plan continues as it is" in asked.content.decode()
    assert not ArcReview.objects.exists()
    assert client.post(url, {**data, "confirm": "1"})["Location"] == reverse(
        "arcs:arc_detail", args=[care.arc.pk]
    )
    review = ArcReview.objects.get()
    assert (review.notes, review.outcome, review.held_on, review.next_review_on) == (
        "Stairs without the rail.",
        "continue",
        TODAY(),
        due,
    )
    assert Arc.objects.get(pk=care.arc.pk).next_review_on == due
    page = client.get(reverse("arcs:arc_detail", args=[care.arc.pk])).content.decode()
    assert "Stairs without the rail." in page
    # The member does not see review notes.
    client.force_login(care.member.user)
    assert (
        "Stairs without the rail." not in client.get(reverse("arcs:my_care_arc")).content.decode()
    )


def test_a_review_confirmed_twice_is_kept_once(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    url = reverse("arcs:arc_review", args=[care.arc.pk])
    data = {"notes": "Stairs without the rail.", "outcome": "continue", "confirm": "1"}
    client.post(url, data)
    client.post(url, data)
    assert ArcReview.objects.count() == 1
    assert care.arc.versions.filter(summary__startswith="Review held").count() == 1
    # A different finding the same day is a review of its own.
    client.post(url, {**data, "notes": "Climbed the stairs twice."})
    assert ArcReview.objects.count() == 2


def test_review_outcomes_lead_to_the_plan_or_to_closing_the_arc(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    url = reverse("arcs:arc_review", args=[care.arc.pk])
    changed = client.post(url, {"notes": "New exercise", "outcome": "change_plan", "confirm": "1"})
    assert changed["Location"] == reverse("arcs:arc_edit", args=[care.arc.pk])
    closing = client.post(url, {"notes": "Goal met", "outcome": "close", "confirm": "1"})
    status_url = reverse("arcs:arc_status", args=[care.arc.pk]) + "?closing=1"
    assert closing["Location"] == status_url
    form = client.get(status_url).context["form"]
    assert [value for value, _label in form.fields["to_status"].choices] == [
        "",
        "achieved",
        "discontinued",
    ]
    # Closing still goes through the status confirmation.
    assert client.post(status_url, {"to_status": "achieved"}).status_code == 200
    assert Arc.objects.get(pk=care.arc.pk).status == ArcStatus.ACTIVE
    client.post(status_url, {"to_status": "achieved", "confirm": "1"})
    assert Arc.objects.get(pk=care.arc.pk).status == ArcStatus.ACHIEVED
    assert list(ArcReview.objects.order_by("pk").values_list("outcome", flat=True)) == [
        "change_plan",
        "close",
    ]


def test_the_review_form_is_refused_to_people_outside_the_team(client):
    care = CareSetting()
    url = reverse("arcs:arc_review", args=[care.arc.pk])
    client.force_login(care.outsider.user)
    assert client.get(url).status_code == 404
    assert client.post(url, {"notes": "x", "outcome": "continue", "confirm": "1"}).status_code == (
        404
    )
    client.force_login(care.member.user)
    assert client.get(url).status_code == 403
    assert not ArcReview.objects.exists()


# --- Access log -----------------------------------------------------------------------------


def test_access_log_names_people_and_records_and_groups_repeated_views(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    for _ in range(3):
        client.get(reverse("arcs:arc_detail", args=[care.arc.pk]))
    client.force_login(care.hub.user)
    response = client.get(reverse("arcs:access_log"), {"member": care.member.number})
    [row] = [r for r in response.context["rows"] if r["action"] == "view"]
    assert row["times"] == 3
    assert row["who"] == care.clinician.user.get_full_name()
    assert row["member_name"] == care.member.full_name
    assert row["record"] == f"Arc: {care.arc.title}"
    html = response.content.decode()
    assert "3 times" in html and care.arc.title in html
    assert f"member {care.member.number}" in html  # the filter is in the title


def test_access_log_filters_by_date_range(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    client.get(reverse("arcs:arc_detail", args=[care.arc.pk]))
    client.force_login(care.hub.user)
    url = reverse("arcs:access_log")
    today = TODAY()
    yesterday = today - datetime.timedelta(days=1)
    rows = client.get(url, {"date_from": today.isoformat(), "date_to": today.isoformat()})
    assert any(r["record_type"] == "arc" for r in rows.context["rows"])
    rows = client.get(url, {"date_to": yesterday.isoformat()})
    assert rows.context["rows"] == []
    bad = client.get(url, {"date_from": today.isoformat(), "date_to": yesterday.isoformat()})
    assert "date_to" in bad.context["form"].errors


def test_filtered_arc_lists_say_their_filters_in_the_title(client):
    from tests.arcs.factories import discipline

    care = CareSetting()
    client.force_login(care.hub.user)
    nutrition = discipline("nutrition")
    response = client.get(
        reverse("arcs:arc_list"),
        {"which": "overdue", "discipline": nutrition.pk, "practitioner": care.clinician.pk},
    )
    name = care.clinician.user.get_full_name()
    title = f"Arcs with a review overdue: discipline Nutrition, care teams of {name}"
    assert f"<h1>{title}</h1>" in html.unescape(response.content.decode())
    response = client.get(reverse("arcs:members_without_arc"), {"discipline": nutrition.pk})
    assert "<h1>Active members with no active arc: discipline Nutrition</h1>" in (
        response.content.decode()
    )
