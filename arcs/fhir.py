"""A member's care record as a FHIR R4 Bundle, for data portability.

Built and validated with ``fhir.resources.R4B``: fhir.resources 8 targets R5 at its top
level, and its R4B subpackage is the one whose Patient, CareTeam, CarePlan, Goal,
Observation and Bundle match FHIR R4 (R4B changed none of these resources). Only what the
member can see in the app goes in: notes internal to the care team stay out.
"""

import uuid

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from fhir.resources.R4B.bundle import Bundle

from arcs.models import Arc, ArcStatus, Direction, NoteVisibility
from arcs.selectors import (
    arc_with_plan,
    current_measurements,
    plan_goals,
    plan_interventions,
    plan_notes,
)
from arcs.ucum import UCUM_SYSTEM
from careteam.models import TeamRole
from careteam.selectors import care_team_of

LOINC = "http://loinc.org"
CAREPLAN_STATUS = {
    ArcStatus.DRAFT: "draft",
    ArcStatus.ACTIVE: "active",
    ArcStatus.ON_HOLD: "on-hold",
    ArcStatus.ACHIEVED: "completed",
    ArcStatus.DISCONTINUED: "revoked",
}
GOAL_STATUS = {
    ArcStatus.DRAFT: "proposed",
    ArcStatus.ACTIVE: "active",
    ArcStatus.ON_HOLD: "on-hold",
    ArcStatus.ACHIEVED: "completed",
    ArcStatus.DISCONTINUED: "cancelled",
}


def _urn(kind: str, pk) -> str:
    """A stable identifier per record, so two exports of the same record agree."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{settings.CLINIC_NAME}/{kind}/{pk}')}"


def _quantity(value, measure) -> dict:
    """A Quantity with the unit people read, and its UCUM system and code when the
    measure's unit has one, so a receiving system can compare and convert values."""
    quantity = {"value": value}
    if measure.unit:
        quantity["unit"] = measure.unit
    if measure.ucum_code:
        quantity["system"] = UCUM_SYSTEM
        quantity["code"] = measure.ucum_code
    return quantity


def _code(measure) -> dict:
    code = {"text": measure.name}
    if measure.loinc_code:
        code["coding"] = [{"system": LOINC, "code": measure.loinc_code, "display": measure.name}]
    return code


GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
ACHIEVEMENT_DISPLAY = {
    "achieved": "Achieved",
    "not-achieved": "Not Achieved",
    "improving": "Improving",
    "worsening": "Worsening",
    "no-change": "No Change",
    "in-progress": "In Progress",
}


def _activity_status(arc, item, today) -> str:
    """The activity's status from the arc's status and the intervention's own dates."""
    if item.removed_on:
        # Removed after it started: stopped; removed before: it never took place.
        return "stopped" if item.starts_on <= item.removed_on else "cancelled"
    if arc.status == ArcStatus.DRAFT:
        return "not-started"
    if arc.status in (ArcStatus.ACHIEVED, ArcStatus.DISCONTINUED):
        closed_on = arc.closed_on or today
        if item.starts_on > closed_on:
            return "cancelled"  # planned, never begun before the arc closed
        if item.ends_on is not None and item.ends_on <= closed_on:
            return "completed"
        return "completed" if arc.status == ArcStatus.ACHIEVED else "stopped"
    if item.ends_on is not None and item.ends_on < today:
        return "completed"
    if item.starts_on > today:
        return "scheduled"
    return "on-hold" if arc.status == ArcStatus.ON_HOLD else "in-progress"


def _reached(goal, value) -> bool:
    if goal.measure.direction == Direction.HIGHER_IS_BETTER:
        return value >= goal.target
    if goal.measure.direction == Direction.LOWER_IS_BETTER:
        return value <= goal.target
    return value <= goal.target if goal.target < goal.baseline else value >= goal.target


def _achievement_status(arc, goal, values: list) -> str | None:
    """Goal.achievementStatus from the arc's measurements of the goal's measure."""
    if values and _reached(goal, values[-1]):
        return "achieved"
    if arc.status in (ArcStatus.ACHIEVED, ArcStatus.DISCONTINUED) or goal.removed_on:
        return "not-achieved"
    if not values:
        return None
    latest, before = values[-1], values[-2] if len(values) > 1 else goal.baseline
    if latest == before:
        return "no-change"
    better = latest < before if goal.target < goal.baseline else latest > before
    return "improving" if better else "worsening"


def member_bundle(member, *, include_drafts: bool = False) -> Bundle:
    """Patient, CareTeam, one CarePlan per arc with its Goals, and Observations.

    Draft arcs go in only when asked (the hub coordinator's export): the member's own
    export has the scope of the member's own pages, which do not show drafts.
    """
    today = timezone.localdate()
    patient_ref = _urn("member", member.pk)
    user = member.user
    patient = {
        "resourceType": "Patient",
        "id": f"member-{member.pk}",
        "identifier": [{"system": "urn:clinic:member-number", "value": str(member.number or "")}]
        if member.number
        else [],
        "active": member.status == "active",
        "name": [{"family": user.last_name, "given": [user.first_name]}]
        if user.last_name
        else [{"text": member.full_name}],
        "telecom": [{"system": "email", "value": user.email}]
        + ([{"system": "phone", "value": member.phone}] if member.phone else []),
    }
    if member.date_of_birth:
        patient["birthDate"] = member.date_of_birth.isoformat()
    if member.address:
        patient["address"] = [{"text": member.address}]
    entries = [{"fullUrl": patient_ref, "resource": patient}]

    team_ref = _urn("careteam", member.pk)
    participants = [
        {
            "role": [
                {
                    "text": "Hub coordinator"
                    if assignment.role == TeamRole.HUB_COORDINATOR
                    else assignment.practitioner.discipline.name
                }
            ],
            "member": {"display": assignment.practitioner.user.get_full_name()},
            "period": {"start": assignment.started_on.isoformat()},
        }
        for assignment in care_team_of(member)
    ]
    entries.append(
        {
            "fullUrl": team_ref,
            "resource": {
                "resourceType": "CareTeam",
                "id": f"careteam-{member.pk}",
                "status": "active",
                "name": _("Care team of %(name)s") % {"name": member.full_name},
                "subject": {"reference": patient_ref},
                "participant": participants,
            },
        }
    )

    arcs = Arc.objects.filter(member=member).order_by("pk")
    if not include_drafts:
        arcs = arcs.exclude(status=ArcStatus.DRAFT)
    for arc in arcs:
        arc = arc_with_plan(arc, shared_notes_only=True)
        plan_ref = _urn("arc", arc.pk)
        goal_refs = []
        values_by_measure: dict[int, list] = {}
        for measurement in current_measurements(arc):
            values_by_measure.setdefault(measurement.measure_id, []).append(measurement.value)
        for goal in plan_goals(arc):
            goal_ref = _urn("goal", goal.pk)
            goal_refs.append({"reference": goal_ref})
            achievement = _achievement_status(arc, goal, values_by_measure.get(goal.measure_id, []))
            entries.append(
                {
                    "fullUrl": goal_ref,
                    "resource": {
                        **(
                            {
                                "achievementStatus": {
                                    "coding": [
                                        {
                                            "system": GOAL_ACHIEVEMENT,
                                            "code": achievement,
                                            "display": ACHIEVEMENT_DISPLAY[achievement],
                                        }
                                    ]
                                }
                            }
                            if achievement
                            else {}
                        ),
                        "resourceType": "Goal",
                        "id": f"goal-{goal.pk}",
                        "lifecycleStatus": "cancelled"
                        if goal.removed_on
                        else GOAL_STATUS[arc.status],
                        "description": {"text": goal.description},
                        "subject": {"reference": patient_ref},
                        "target": [
                            {
                                "measure": _code(goal.measure),
                                "detailQuantity": _quantity(goal.target, goal.measure),
                                "dueDate": goal.target_date.isoformat(),
                            }
                        ],
                        "note": [{"text": f"Baseline: {goal.baseline} {goal.measure.unit}"}],
                    },
                }
            )
        period = {}
        if arc.activated_on:
            period["start"] = arc.activated_on.isoformat()
        if arc.closed_on:
            period["end"] = arc.closed_on.isoformat()
        plan = {
            "resourceType": "CarePlan",
            "id": f"arc-{arc.pk}",
            "status": CAREPLAN_STATUS[arc.status],
            "intent": "plan",
            "title": arc.title,
            "description": arc.endpoint,
            "subject": {"reference": patient_ref},
            "careTeam": [{"reference": team_ref}],
            "goal": goal_refs,
            "created": arc.created_at.isoformat(),
            "activity": [
                {
                    "detail": {
                        "status": _activity_status(arc, item, today),
                        "description": f"{item.description} ({item.frequency})",
                        "scheduledString": item.frequency,
                        "performer": [
                            {
                                "display": item.practitioner.user.get_full_name()
                                if item.practitioner
                                else item.discipline.name
                            }
                        ],
                    }
                }
                for item in plan_interventions(arc)
            ],
            "note": [
                {"text": note.text, "time": note.written_at.isoformat()}
                for note in plan_notes(arc)
                if note.visibility == NoteVisibility.SHARED
            ],
        }
        if period:
            plan["period"] = period
        entries.append({"fullUrl": plan_ref, "resource": plan})
        for measurement in current_measurements(arc):
            entries.append(
                {
                    "fullUrl": _urn("measurement", measurement.pk),
                    "resource": {
                        "resourceType": "Observation",
                        "id": f"measurement-{measurement.pk}",
                        "status": "final",
                        "basedOn": [{"reference": plan_ref}],
                        "code": _code(measurement.measure),
                        "subject": {"reference": patient_ref},
                        "effectiveDateTime": measurement.measured_on.isoformat(),
                        "valueQuantity": _quantity(measurement.value, measurement.measure),
                    },
                }
            )
    # Empty lists are not valid FHIR: drop them before validating.
    for entry in entries:
        resource = entry["resource"]
        for key in [k for k, v in resource.items() if v == []]:
            del resource[key]
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "timestamp": timezone.now().isoformat(),
            "entry": entries,
        }
    )
