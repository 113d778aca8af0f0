"""The team dashboard, the caseload and the lists behind them cost the same number of
queries at 10 and at 1,000 members and arcs."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from arcs.models import Arc, ArcStatus, Intervention
from careteam.models import CareTeamAssignment, ConsultationRequest, TeamRole
from members.models import Member, MemberStatus
from tests.arcs.factories import discipline, hub_practitioner
from tests.careteam.factories import PractitionerFactory

pytestmark = pytest.mark.django_db

STATUSES = list(ArcStatus.values)
MAX_QUERIES = 30


class Clinic:
    def __init__(self) -> None:
        self.clinician = PractitionerFactory()
        self.hub = hub_practitioner()
        self.size = 0

    def grow_to(self, size: int) -> None:
        """Add members, each with a care team, an arc, an intervention and a consultation."""
        today = timezone.localdate()
        new = range(self.size, size)
        users = get_user_model().objects.bulk_create(
            [get_user_model()(email=f"bulk{i}@example.org", first_name=f"M{i}") for i in new]
        )
        members = Member.objects.bulk_create(
            [
                Member(user=user, number=10_000 + i, status=MemberStatus.ACTIVE, admitted_on=today)
                for i, user in zip(new, users, strict=True)
            ]
        )
        CareTeamAssignment.objects.bulk_create(
            [
                CareTeamAssignment(
                    member=m, practitioner=p, role=role, started_on=today, assigned_by=None
                )
                for m in members
                for p, role in (
                    (self.hub, TeamRole.HUB_COORDINATOR),
                    (self.clinician, TeamRole.PRACTITIONER),
                )
            ]
        )
        arcs = Arc.objects.bulk_create(
            [
                Arc(
                    member=m,
                    title=f"Arc {i}",
                    endpoint="Endpoint",
                    lead_discipline=discipline(),
                    status=STATUSES[i % len(STATUSES)],
                    discontinued_reason="moved" if STATUSES[i % 5] == "discontinued" else "",
                    closed_on=today if STATUSES[i % 5] in ("achieved", "discontinued") else None,
                    activated_on=today,
                    next_review_on=today + datetime.timedelta(days=(i % 20) - 10),
                    last_activity_at=timezone.now() - datetime.timedelta(days=(i * 7) % 60),
                )
                for i, m in zip(new, members, strict=True)
            ]
        )
        Intervention.objects.bulk_create(
            [
                Intervention(
                    arc=arc,
                    discipline=discipline(),
                    practitioner=self.clinician,
                    description="Exercises",
                    frequency="Weekly",
                    starts_on=today,
                )
                for arc in arcs
            ]
        )
        ConsultationRequest.objects.bulk_create(
            [
                ConsultationRequest(
                    arc=arc,
                    requested_by=self.hub,
                    to_discipline=discipline(),
                    to_practitioner=self.clinician,
                    question="?",
                )
                for arc in arcs
            ]
        )
        # Production's autovacuum analyzes tables that grew; rows added inside a test's
        # transaction are never seen by it, and with the statistics earlier tests left
        # (tables of a few rows) the planner chose a plan for the caseload's interventions
        # that ran for minutes at 1,000 members (on main before issue 14's changes too).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.size = size


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


PAGES = [
    ("careteam:team_dashboard", "hub"),
    ("careteam:team_dashboard", "hub", "?discipline=1"),
    ("careteam:caseload", "clinician"),
    ("careteam:caseload", "hub"),
    ("careteam:care_team_members", "hub"),
    ("careteam:consultation_list", "hub"),
    ("arcs:arc_list", "hub", "?which=overdue"),
    ("arcs:arc_list", "hub", "?which=stalled"),
    ("arcs:members_without_arc", "hub"),
    ("arcs:access_log", "hub"),
    ("arcs:access_log", "hub", "?date_from=2020-01-01&date_to=2099-12-31"),
    ("careteam:caseload", "clinician", "?q=M1"),
    ("careteam:consultation_list", "clinician", "?whose=mine"),
    ("careteam:consultation_list", "hub", "?status=open&age=under_7"),
    ("careteam:reviews_due", "clinician"),
]


def test_pages_cost_the_same_queries_at_10_and_1000_members(client, django_assert_max_num_queries):
    # One clinic grown once, every page measured at both sizes: 1,000 rows are slow to make.
    clinic = Clinic()
    urls = [(reverse(name) + "".join(query), who) for name, who, *query in PAGES]

    def measure_all() -> dict:
        counts = {}
        for url, who in urls:
            client.force_login(getattr(clinic, who).user)
            with django_assert_max_num_queries(MAX_QUERIES):
                counts[(url, who)] = queries_for(client, url)
        return counts

    clinic.grow_to(10)
    small = measure_all()
    clinic.grow_to(1000)
    large = measure_all()
    assert small == large
