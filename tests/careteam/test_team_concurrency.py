"""Team changes racing clinical work, with two real database connections."""

import pytest
from django.db import connection

from careteam import selectors
from careteam.models import CareTeamAssignment, ConsultationStatus, TeamRole
from careteam.services import care_team_assign, care_team_end, consultation_answer
from tests.arcs.factories import CareSetting, hub_practitioner
from tests.arcs.test_plan_integrity import run_together
from tests.careteam.test_team_rules import consultation_by_colleague

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_answer_racing_the_end_of_the_answerers_assignment_is_refused():
    assert connection.vendor == "postgresql"
    care = CareSetting()
    consultation = consultation_by_colleague(care)
    assignment = CareTeamAssignment.objects.get(practitioner=care.clinician)
    results = run_together(
        lambda: care_team_end(assignment=assignment, by=care.hub.user),
        lambda: consultation_answer(
            consultation=consultation, answered_by=care.clinician, answer="Squats."
        ),
        hold_first=0.6,
    )
    assert results[0] == "ok"
    assert "may not answer" in results[1]
    consultation.refresh_from_db()
    assert (consultation.status, consultation.answer) == (ConsultationStatus.OPEN, "")


def test_hub_handover_racing_a_stale_assignment_keeps_exactly_one_hub():
    care = CareSetting()
    new_hub = hub_practitioner()
    results = run_together(
        lambda: care_team_assign(
            member=care.member, practitioner=new_hub, role=TeamRole.HUB_COORDINATOR,
            by=care.hub.user,
        ),
        lambda: care_team_assign(
            member=care.member, practitioner=care.hub, by=care.hub.user
        ),
        hold_first=0.6,
    )  # fmt: skip
    assert results == ["ok", "ok"]
    hubs = selectors.current_assignments().filter(member=care.member, role=TeamRole.HUB_COORDINATOR)
    assert list(hubs.values_list("practitioner_id", flat=True)) == [new_hub.pk]
