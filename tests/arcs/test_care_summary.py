"""The member's care summary: a print page and a PDF of only what their own pages show."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from arcs import services
from arcs.models import AccessAction, AccessLogEntry, Phase
from clinic.roles import Role
from tests.arcs.factories import ArcFactory, CareSetting, GoalFactory
from tests.factories import user_with_role
from tests.pdf import pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def care():
    care = CareSetting()
    today = datetime.date.today()
    Phase.objects.create(
        arc=care.arc,
        name="Building strength",
        planned_start=today - datetime.timedelta(days=5),
        planned_end=today + datetime.timedelta(days=30),
    )
    services.measurement_record(
        arc=care.arc, measure=care.goal.measure, value=Decimal("4.5"), measured_on=today,
        by=care.clinician.user,
    )  # fmt: skip
    services.note_add(
        arc=care.arc, text="Keep walking daily", visibility="shared", by=care.hub.user
    )
    services.note_add(arc=care.arc, text="Watch adherence", visibility="internal", by=care.hub.user)
    ArcFactory(member=care.member, status="draft", title="Unannounced draft plan")
    # Another member's arc: never in this member's summary.
    GoalFactory(arc=ArcFactory(member=care.other_member, title="Someone else's arc"))
    return care


def _shows_only_what_the_member_pages_show(text: str, care) -> None:
    assert care.arc.title in text
    assert "Building strength" in text
    assert "Pain down to 2" in text
    assert "4.5" in text and "50% of the way" in text  # from 7 toward 2
    assert care.hub.user.get_full_name() in text and "Physical therapy" in text
    assert "Keep walking daily" in text
    assert "Watch adherence" not in text
    assert "Unannounced draft plan" not in text
    assert "Someone else's arc" not in text


def test_print_page_summarises_where_i_am_goals_team_next_and_shared_notes(client, care):
    client.force_login(care.member.user)
    response = client.get(reverse("arcs:my_care_summary"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    _shows_only_what_the_member_pages_show(html, care)
    assert reverse("arcs:my_care_summary_pdf") in html
    entry = AccessLogEntry.objects.get(record_type="care_summary")
    assert (entry.user, entry.member, entry.action) == (
        care.member.user,
        care.member,
        AccessAction.VIEW,
    )


def test_pdf_reads_back_with_the_same_content_and_is_logged_as_an_export(client, care):
    client.force_login(care.member.user)
    response = client.get(reverse("arcs:my_care_summary_pdf"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Disposition"].startswith('attachment; filename="care-summary-')
    text = pdf_text(response.content)
    _shows_only_what_the_member_pages_show(text, care)
    assert care.member.full_name in text
    assert AccessLogEntry.objects.filter(
        record_type="care_summary", action=AccessAction.EXPORT, member=care.member
    ).exists()


def test_the_care_arc_page_offers_the_summary_beside_the_fhir_download(client, care):
    client.force_login(care.member.user)
    html = client.get(reverse("arcs:my_care_arc")).content.decode()
    assert reverse("arcs:my_care_summary") in html
    assert reverse("arcs:my_care_summary_pdf") in html
    assert reverse("arcs:my_fhir_export") in html


@pytest.mark.parametrize("name", ["arcs:my_care_summary", "arcs:my_care_summary_pdf"])
def test_only_members_get_a_summary_and_only_of_themselves(client, care, name):
    for user in (
        care.clinician.user,
        care.hub.user,
        user_with_role(Role.ADMINISTRATOR),
        user_with_role(Role.ANCHOR_CONTACT),
    ):
        client.force_login(user)
        assert client.get(reverse(name)).status_code == 403
    client.force_login(care.other_member.user)
    response = client.get(reverse(name))
    assert response.status_code == 200
    text = pdf_text(response.content) if name.endswith("pdf") else response.content.decode()
    assert "Someone else's arc" in text.replace("&#x27;", "'")
    assert care.arc.title not in text


def test_the_summary_page_takes_a_fixed_number_of_queries(
    client, care, django_assert_max_num_queries
):
    client.force_login(care.member.user)
    client.get(reverse("arcs:my_care_summary"))
    with django_assert_max_num_queries(30) as small:
        client.get(reverse("arcs:my_care_summary"))
    for day in range(20):
        services.note_add(
            arc=care.arc, text=f"Shared note {day}", visibility="shared", by=care.hub.user
        )
        GoalFactory(arc=care.arc, description=f"Goal {day}")
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("arcs:my_care_summary"))
