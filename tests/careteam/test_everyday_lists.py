"""Issue 14 for clinicians and the hub coordinator: ending an assignment is confirmed with
its consequences, consultation lists say who, what, from whom and when, the caseload has
a search, and reviews due this week put overdue ones first."""

import datetime
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from arcs.models import Arc, Intervention
from careteam import services
from careteam.models import CareTeamAssignment
from tests.arcs.factories import ArcFactory, CareSetting, CareTeamAssignmentFactory, discipline
from tests.careteam.factories import PractitionerFactory
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


# --- Ending an assignment -------------------------------------------------------------------


def test_ending_an_assignment_says_what_happens_and_keeps_the_reason(client):
    care = CareSetting()
    assignment = CareTeamAssignment.objects.get(practitioner=care.clinician)
    Intervention.objects.create(
        arc=care.arc,
        discipline=care.clinician.discipline,
        practitioner=care.clinician,
        description="Stair practice",
        frequency="Weekly",
        starts_on=TODAY(),
    )
    url = reverse("careteam:care_team_end", args=[assignment.pk])
    client.force_login(care.hub.user)
    team_page = client.get(reverse("careteam:care_team", args=[care.member.pk])).content.decode()
    assert f'href="{url}"' in team_page  # a link to the confirmation, not a bare button
    asked = client.get(url)
    assert asked.status_code == 200
    html = unescape(asked.content.decode())
    assert care.clinician.user.get_full_name() in html
    assert "no longer sees this member" in html
    assert "Stair practice" in html and "will need a new owner" in html
    assert "Nobody is emailed" in html
    assignment.refresh_from_db()
    assert assignment.ended_on is None  # opening the page changes nothing
    response = client.post(url, {"reason": "Moved to the other site"})
    assert response.status_code == 302
    assignment.refresh_from_db()
    assert (assignment.ended_on, assignment.end_reason) == (TODAY(), "Moved to the other site")
    history = client.get(reverse("careteam:care_team", args=[care.member.pk])).content.decode()
    assert "Moved to the other site" in history


def test_only_the_hub_coordinator_sees_the_ending_page(client):
    care = CareSetting()
    assignment = CareTeamAssignment.objects.get(practitioner=care.clinician)
    url = reverse("careteam:care_team_end", args=[assignment.pk])
    for user in (care.clinician.user, care.outsider.user, care.member.user):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert client.post(url, {"reason": "x"}).status_code == 403
    assignment.refresh_from_db()
    assert assignment.ended_on is None


# --- Consultation lists ---------------------------------------------------------------------


def consultation(arc, by, *, to=None, question="Could nutrition help with the knee pain?"):
    return services.consultation_request(
        arc=arc,
        requested_by=by,
        to_discipline=(to.discipline if to else discipline("nutrition")),
        to_practitioner=to,
        question=question,
    )


def test_consultation_list_says_about_whom_what_from_whom_and_how_long_ago(client):
    care = CareSetting()
    dietitian = PractitionerFactory(discipline=discipline("nutrition"))
    CareTeamAssignmentFactory(member=care.member, practitioner=dietitian)
    asked = consultation(
        care.arc,
        care.clinician,
        question="Could a lighter diet ease the load on the knee during the stairs phase?",
    )
    # The question is append-only (no backdating it here): just asked reads "0 minutes ago".
    client.force_login(dietitian.user)
    html = unescape(client.get(reverse("careteam:consultation_list")).content.decode())
    assert care.member.full_name in html
    # The question's first words (twelve), not all of it.
    assert "Could a lighter diet ease the load on the knee during the …" in html
    assert "stairs phase?" not in html
    assert care.clinician.user.get_full_name() in html
    assert "0\xa0minutes ago" in html
    assert asked.pk in [
        c.pk for c in client.get(reverse("careteam:consultation_list")).context["page"]
    ]


def test_all_my_consultations_shows_those_i_asked_and_those_asked_of_me(client):
    care = CareSetting()
    dietitian = PractitionerFactory(discipline=discipline("nutrition"))
    CareTeamAssignmentFactory(member=care.member, practitioner=dietitian)
    mine_asked = consultation(care.arc, care.clinician, question="Asked by me")
    asked_of_me = consultation(care.arc, dietitian, to=care.clinician, question="Asked of me")
    consultation(care.arc, dietitian, to=care.hub, question="Between others")
    client.force_login(care.clinician.user)
    url = reverse("careteam:consultation_list")
    response = client.get(url, {"whose": "mine"})
    assert {c.pk for c in response.context["page"]} == {mine_asked.pk, asked_of_me.pk}
    assert response.context["title"] == "All my consultations"
    response = client.get(url, {"whose": "asked_of_me", "status": "open"})
    assert [c.pk for c in response.context["page"]] == [asked_of_me.pk]
    assert "<h1>Consultations asked of me: open</h1>" in response.content.decode()
    response = client.get(url, {"discipline": discipline("nutrition").pk})
    assert response.context["title"] == "Consultations: to Nutrition"
    # The caseload's link goes to all of mine.
    caseload = client.get(reverse("careteam:caseload")).content.decode()
    assert f"{url}?whose=mine" in caseload


# --- Caseload search ------------------------------------------------------------------------


def test_caseload_search_by_name_or_member_number(client):
    care = CareSetting()
    other = MemberFactory(user__first_name="Quirina", user__last_name="Vos")
    CareTeamAssignmentFactory(member=other, practitioner=care.clinician)
    stranger = MemberFactory(user__first_name="Quirina", user__last_name="Elsewhere")
    client.force_login(care.clinician.user)
    url = reverse("careteam:caseload")
    response = client.get(url, {"q": "quirina"})
    assert [row["member"] for row in response.context["rows"]] == [other]
    assert "matching “quirina”" in response.content.decode()
    response = client.get(url, {"q": str(care.member.number)})
    assert [row["member"] for row in response.context["rows"]] == [care.member]
    # Someone outside my care teams is never found, by name or by number.
    assert client.get(url, {"q": str(stranger.number)}).context["rows"] == []
    assert client.get(url, {"q": "Elsewhere"}).context["rows"] == []
    assert len(client.get(url).context["rows"]) == 2


# --- Reviews due ----------------------------------------------------------------------------


def test_reviews_due_this_week_put_overdue_ones_first_and_label_them(client):
    care = CareSetting()
    Arc.objects.filter(pk=care.arc.pk).update(next_review_on=TODAY() + datetime.timedelta(days=3))
    late = ArcFactory(member=care.member, next_review_on=TODAY() - datetime.timedelta(days=5))
    ArcFactory(member=care.member, next_review_on=TODAY() + datetime.timedelta(days=20))
    client.force_login(care.clinician.user)
    response = client.get(reverse("careteam:reviews_due"))
    assert [arc.pk for arc in response.context["page"]] == [late.pk, care.arc.pk]
    html = response.content.decode()
    assert html.count(">overdue<") == 1
    assert html.index(late.title) < html.index(care.arc.title)
    client.force_login(care.outsider.user)
    assert list(client.get(reverse("careteam:reviews_due")).context["page"]) == []
