import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from arcs import services
from arcs.models import Phase
from tests.arcs.factories import CareSetting

pytestmark = pytest.mark.django_db


def test_my_care_arc_shows_phase_team_goals_chart_and_shared_notes_only(client):
    care = CareSetting()
    today = datetime.date.today()
    Phase.objects.create(
        arc=care.arc,
        name="Building strength",
        planned_start=today - datetime.timedelta(days=5),
        planned_end=today + datetime.timedelta(days=30),
    )
    services.measurement_record(
        arc=care.arc, measure=care.goal.measure, value=Decimal("5.5"), measured_on=today,
        by=care.clinician.user,
    )  # fmt: skip
    services.note_add(
        arc=care.arc, text="Keep walking daily", visibility="shared", by=care.hub.user
    )
    services.note_add(arc=care.arc, text="Watch adherence", visibility="internal", by=care.hub.user)
    client.force_login(care.member.user)
    html = client.get(reverse("arcs:my_care_arc")).content.decode()
    assert "Building strength" in html
    assert care.hub.user.get_full_name() in html
    assert "hub coordinator" in html
    assert 'class="chart-point"' in html and 'data-value="5.5"' in html
    assert "<title id=" in html and "<desc id=" in html
    assert "Keep walking daily" in html
    assert "Watch adherence" not in html
    # The arc page for the member is the same read-only view.
    html = client.get(reverse("arcs:arc_detail", args=[care.arc.pk])).content.decode()
    assert "Watch adherence" not in html
    assert reverse("arcs:note_add", args=[care.arc.pk]) not in html


def test_my_membership_links_to_my_care_arc(client):
    care = CareSetting()
    client.force_login(care.member.user)
    html = client.get(reverse("members:my_membership")).content.decode()
    assert reverse("arcs:my_care_arc") in html


def test_draft_arcs_are_not_shown_to_the_member(client):
    care = CareSetting()
    care.arc.status = "draft"
    care.arc.save()
    client.force_login(care.member.user)
    assert care.arc.title not in client.get(reverse("arcs:my_care_arc")).content.decode()
    assert client.get(reverse("arcs:arc_detail", args=[care.arc.pk])).status_code == 404


def test_my_care_arc_reads_each_kind_of_record_once_however_many_arcs(client):
    """The member's arcs' plans, measures and notes are read together (five queries), and
    their care team once: a fourth arc adds only its access-log row, not seven queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from arcs.models import AccessLogEntry, ArcStatus
    from tests.arcs.factories import ArcFactory, GoalFactory

    care = CareSetting()
    client.force_login(care.member.user)
    url = reverse("arcs:my_care_arc")
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        html = client.get(url).content.decode()
    assert care.arc.title in html
    for status in (ArcStatus.ACHIEVED, ArcStatus.ACTIVE, ArcStatus.ON_HOLD):
        closed = datetime.date.today() if status == ArcStatus.ACHIEVED else None
        GoalFactory(arc=ArcFactory(member=care.member, status=status, closed_on=closed))
    logged = AccessLogEntry.objects.count()
    with CaptureQueriesContext(connection) as four:
        html = client.get(url).content.decode()
    assert html.count('class="h3"') == 4
    # One access-log row per arc viewed (each its own insert), nothing else more.
    assert AccessLogEntry.objects.count() - logged == 4
    assert len(four) == len(one) + 3
