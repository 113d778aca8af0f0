import datetime

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from arcs.models import Arc, ArcStatus
from careteam.services import consultation_request
from tests.arcs.factories import ArcFactory, CareSetting, CareTeamAssignmentFactory, discipline
from tests.careteam.factories import PractitionerFactory
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db


def arcs_behind(client, url: str) -> int:
    return client.get(url).context["page"].paginator.count


def test_dashboard_numbers_are_right_and_link_to_the_lists_behind_them(client, settings):
    settings.CLINIC_STALLED_ARC_DAYS = 20
    care = CareSetting()
    today = timezone.localdate()
    ArcFactory(member=care.other_member, next_review_on=today - datetime.timedelta(days=3))
    ArcFactory(
        member=care.other_member, last_activity_at=timezone.now() - datetime.timedelta(days=25)
    )
    ArcFactory(status=ArcStatus.ACHIEVED, closed_on=today - datetime.timedelta(days=30))
    ArcFactory(
        status=ArcStatus.DISCONTINUED, closed_on=today, discontinued_reason="moved",
        lead_discipline=discipline("nutrition"),
    )  # fmt: skip
    ArcFactory(status=ArcStatus.ACHIEVED, closed_on=today - datetime.timedelta(days=400))
    MemberFactory()  # active, no arc
    client.force_login(care.hub.user)
    response = client.get(reverse("careteam:team_dashboard"))
    counts = response.context["counts"]
    assert counts["active"] == 3
    assert counts["overdue"] == 1
    assert counts["stalled"] == 1
    assert (counts["achieved_12m"], counts["discontinued_12m"], counts["attainment"]) == (1, 1, 50)
    html = response.content.decode()
    assert "<h1>Team dashboard</h1>" in html
    for which in ("active", "overdue", "stalled", "achieved_12m", "discontinued_12m"):
        url = f"{reverse('arcs:arc_list')}?which={which}&amp;"
        assert url in html, which
        assert arcs_behind(client, f"{reverse('arcs:arc_list')}?which={which}") == counts[which]
    without = client.get(reverse("arcs:members_without_arc")).context["page"].paginator.count
    # The three members whose arcs are closed, and the one who never had an arc.
    assert without == response.context["without_arc"] == 4
    by_discipline = {
        r["lead_discipline__name"]: r for r in response.context["attainment_by_discipline"]
    }
    assert by_discipline["Nutrition"]["attainment"] == 0
    assert by_discipline["Physical therapy"]["attainment"] == 100


def test_dashboard_filters_by_discipline_and_practitioner(client):
    care = CareSetting()
    ArcFactory(member=care.other_member, lead_discipline=discipline("nutrition"))
    client.force_login(care.hub.user)
    url = reverse("careteam:team_dashboard")
    nutrition = client.get(url, {"discipline": discipline("nutrition").pk}).context["counts"]
    assert nutrition["active"] == 1
    mine = client.get(url, {"practitioner": care.clinician.pk}).context["counts"]
    assert mine["active"] == 1  # only care.member's arc: the clinician is on that team only
    listed = client.get(
        reverse("arcs:arc_list"), {"which": "active", "practitioner": care.clinician.pk}
    ).context["page"]
    assert [arc.pk for arc in listed] == [care.arc.pk]


def test_open_consultations_by_age(client):
    care = CareSetting()
    doctor = PractitionerFactory(discipline=discipline("primary-care-medicine"))
    old = consultation_request(
        arc=care.arc, requested_by=care.clinician, to_discipline=doctor.discipline, question="Old?"
    )
    # Consultations are append-only below the ORM (careteam 0007): backdate as the test
    # database's owner, past the triggers, as the flush between tests does.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "UPDATE careteam_consultationrequest SET created_at = %s WHERE id = %s",
            [timezone.now() - datetime.timedelta(days=40), old.pk],
        )
        cursor.execute("SET LOCAL session_replication_role = origin")
    consultation_request(
        arc=care.arc, requested_by=care.clinician, to_discipline=doctor.discipline, question="New?"
    )
    client.force_login(care.hub.user)
    ages = dict(
        (key, count)
        for key, _label, count in client.get(reverse("careteam:team_dashboard")).context[
            "consultation_ages"
        ]
    )
    assert ages == {"under_7": 1, "7_to_30": 0, "over_30": 1}
    listed = client.get(reverse("careteam:consultation_list"), {"status": "open", "age": "over_30"})
    assert [c.pk for c in listed.context["page"]] == [old.pk]


def test_caseload_lists_reviews_interventions_and_consultations_due(client):
    care = CareSetting()
    Arc.objects.filter(pk=care.arc.pk).update(next_review_on=timezone.localdate())
    care.arc.interventions.create(
        discipline=care.clinician.discipline, practitioner=care.clinician,
        description="Knee exercises", frequency="Weekly", starts_on=timezone.localdate(),
    )  # fmt: skip
    doctor = PractitionerFactory(discipline=discipline("primary-care-medicine"))
    consultation_request(
        arc=care.arc,
        requested_by=doctor,
        to_discipline=care.clinician.discipline,
        to_practitioner=care.clinician,
        question="Can you see her sooner?",
    )
    client.force_login(care.clinician.user)
    response = client.get(reverse("careteam:caseload"))
    assert [a.pk for a in response.context["reviews_due"]] == [care.arc.pk]
    assert [i.description for i in response.context["interventions_due"]] == ["Knee exercises"]
    assert len(response.context["consultations"]) == 1
    assert len(response.context["notifications"]) == 1


def test_dashboard_filters_narrow_consultations_members_without_arc_and_attainment(client):
    care = CareSetting()
    today = timezone.localdate()
    nutritionist = PractitionerFactory(discipline=discipline("nutrition"))
    to_nutrition = consultation_request(
        arc=care.arc, requested_by=care.clinician, to_discipline=nutritionist.discipline,
        question="Diet?",
    )  # fmt: skip
    acupuncturist = PractitionerFactory(discipline=discipline("acupuncture"))
    consultation_request(
        arc=care.arc, requested_by=care.hub, to_discipline=discipline("acupuncture"),
        to_practitioner=acupuncturist, question="Needles?",
    )  # fmt: skip
    lonely = MemberFactory()  # active, no arc, in the nutritionist's care team only
    CareTeamAssignmentFactory(member=lonely, practitioner=nutritionist)
    MemberFactory()  # active, no arc, no team
    ArcFactory(member=lonely, status=ArcStatus.ACHIEVED, closed_on=today)
    ArcFactory(status=ArcStatus.ACHIEVED, closed_on=today)
    client.force_login(care.hub.user)
    url = reverse("careteam:team_dashboard")

    def ages(params) -> int:
        rows = client.get(url, params).context["consultation_ages"]
        return sum(count for _key, _label, count in rows)

    assert ages({}) == 2
    nutrition = {"discipline": nutritionist.discipline.pk}
    assert ages(nutrition) == 1
    assert ages({"practitioner": care.clinician.pk}) == 1
    listed = client.get(reverse("careteam:consultation_list"), {"status": "open", **nutrition})
    assert [c.pk for c in listed.context["page"]] == [to_nutrition.pk]

    assert client.get(url).context["without_arc"] >= 2
    mine = {"practitioner": nutritionist.pk}
    assert client.get(url, mine).context["without_arc"] == 1
    without = client.get(reverse("arcs:members_without_arc"), mine).context["page"]
    assert [m.pk for m in without] == [lonely.pk]
    assert (
        f'members/without-arc/?practitioner={nutritionist.pk}"'
        in client.get(url, mine).content.decode()
    )

    rows = client.get(url, mine).context["attainment_by_discipline"]
    assert sum(row["achieved"] for row in rows) == 1
    assert sum(row["achieved"] for row in client.get(url).context["attainment_by_discipline"]) == 2


def test_coordinators_share_the_figures_for_the_set_time_and_can_count_again(
    client, settings, django_assert_max_num_queries
):
    settings.CLINIC_DASHBOARD_CACHE_SECONDS = 60
    care = CareSetting()
    url = reverse("careteam:team_dashboard")
    client.force_login(care.hub.user)
    first = client.get(url)
    assert first.context["counts"]["active"] == 1
    assert 'id="figures-as-of"' in first.content.decode()
    assert "counted again after 60 seconds" in first.content.decode()
    ArcFactory(member=care.other_member)
    # Within the minute another view reads the stored figures: the counting queries are
    # not run again, and the new arc is not counted yet.
    with django_assert_max_num_queries(12):
        shared = client.get(url)
    assert shared.context["counts"]["active"] == 1
    assert shared.context["computed_at"] == first.context["computed_at"]
    # "Count again now" counts afresh, for everyone after.
    again = client.get(url, {"refresh": "1"})
    assert again.context["counts"]["active"] == 2
    assert "refresh" not in again.context["filter_query"]
    assert client.get(url).context["counts"]["active"] == 2
    # Once the time has passed the figures are counted again.
    ArcFactory(member=care.other_member)
    settings.CLINIC_DASHBOARD_CACHE_SECONDS = 0
    assert client.get(url).context["counts"]["active"] == 3
