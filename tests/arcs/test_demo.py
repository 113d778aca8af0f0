import pytest
from django.core.management import call_command
from django.db.models import Count

from arcs.models import Arc, ArcStatus, Measurement, ProgressNote
from arcs.selectors import dashboard_counts
from careteam.models import ConsultationRequest
from careteam.selectors import care_team_of

pytestmark = pytest.mark.django_db


def test_demo_cooperative_has_the_documented_arcs_and_care_teams():
    call_command("seed_demo")
    arc = Arc.objects.get(member__user__email="member@demo.coop", status=ArcStatus.ACTIVE)
    team = {a.practitioner.user.email for a in care_team_of(arc.member)}
    assert {"clinician@demo.coop", "doctor@demo.coop", "hub@demo.coop"} <= team
    hub = care_team_of(arc.member).get(role="hub_coordinator")
    assert hub.practitioner.user.email == "hub@demo.coop"

    second = Arc.objects.filter(member__user__email="member2@demo.coop").first()
    assert second is not None
    assert "clinician@demo.coop" not in {
        a.practitioner.user.email for a in care_team_of(second.member)
    }

    statuses = set(Arc.objects.values_list("status", flat=True))
    assert statuses == set(ArcStatus.values)
    disciplines = Arc.objects.values("lead_discipline").annotate(n=Count("pk"))
    assert disciplines.count() >= 4
    counts = dashboard_counts()
    assert counts["stalled"] > 0
    assert counts["overdue"] > 0
    assert ConsultationRequest.objects.filter(status="open").exists()
    months = {d.month for d in Measurement.objects.values_list("measured_on", flat=True)}
    assert len(months) >= 3
    assert set(ProgressNote.objects.values_list("visibility", flat=True)) == {"shared", "internal"}
