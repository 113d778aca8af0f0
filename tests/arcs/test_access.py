"""Who may see and change an arc: every role against every arc view, and guessed ids."""

import pytest
from django.urls import reverse

from arcs.models import AccessLogEntry, Measurement
from arcs.selectors import arcs_visible_to
from clinic.roles import Role
from tests.arcs.factories import ArcFactory, CareSetting
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

READ_VIEWS = ["arcs:arc_detail"]
PRACTITIONER_READ_VIEWS = ["arcs:arc_history"]
CHANGE_VIEWS = ["arcs:arc_edit", "arcs:measurement_add", "arcs:note_add"]


def people(care: CareSetting) -> dict:
    return {
        "owner": care.member.user,
        "other_member": care.other_member.user,
        "team_clinician": care.clinician.user,
        "outsider_clinician": care.outsider.user,
        "hub": care.hub.user,
        "administrator": user_with_role(Role.ADMINISTRATOR),
        "anchor_contact": user_with_role(Role.ANCHOR_CONTACT),
    }


EXPECTED_READ = {
    "owner": 200,
    "other_member": 404,
    "team_clinician": 200,
    "outsider_clinician": 404,
    "hub": 200,
    "administrator": 404,
    "anchor_contact": 404,
}


@pytest.mark.parametrize("who", list(EXPECTED_READ))
def test_arc_page_by_role(client, who):
    care = CareSetting()
    client.force_login(people(care)[who])
    response = client.get(reverse("arcs:arc_detail", args=[care.arc.pk]))
    assert response.status_code == EXPECTED_READ[who]
    if response.status_code == 404:
        # Not even the arc's title leaks.
        assert care.arc.title not in response.content.decode()


@pytest.mark.parametrize("who", list(EXPECTED_READ))
def test_arc_change_views_by_role(client, who):
    care = CareSetting()
    client.force_login(people(care)[who])
    expected = {
        "owner": 403,
        "other_member": 403,
        "team_clinician": 200,
        "outsider_clinician": 404,
        "hub": 200,
        "administrator": 403,
        "anchor_contact": 403,
    }[who]
    for name in CHANGE_VIEWS + PRACTITIONER_READ_VIEWS:
        assert client.get(reverse(name, args=[care.arc.pk])).status_code == expected, name
    for kind in ("goal", "phase", "intervention"):
        url = reverse("arcs:plan_item_add", args=[care.arc.pk, kind])
        assert client.get(url).status_code == expected, kind


@pytest.mark.parametrize("who", ["owner", "team_clinician", "hub"])
def test_guessed_arc_ids_give_404(client, who):
    care = CareSetting()
    client.force_login(people(care)[who])
    assert client.get(reverse("arcs:arc_detail", args=[care.arc.pk + 1000])).status_code == 404


def test_member_cannot_post_a_measure_on_own_arc(client):
    care = CareSetting()
    client.force_login(care.member.user)
    response = client.post(
        reverse("arcs:measurement_add", args=[care.arc.pk]),
        {"measure": care.goal.measure.pk, "value": "1", "measured_on": "2020-01-01"},
    )
    assert response.status_code == 403
    assert not Measurement.objects.exists()


def test_outsider_clinician_cannot_post_a_note(client):
    care = CareSetting()
    client.force_login(care.outsider.user)
    response = client.post(
        reverse("arcs:note_add", args=[care.arc.pk]), {"text": "x", "visibility": "shared"}
    )
    assert response.status_code == 404
    assert not care.arc.notes.exists()


def test_my_care_arc_shows_only_my_arcs(client):
    care = CareSetting()
    other_arc = ArcFactory(member=care.other_member, title="Someone else's arc")
    client.force_login(care.member.user)
    page = client.get(reverse("arcs:my_care_arc")).content.decode()
    assert "<h1>My care arc</h1>" in page
    assert care.arc.title in page
    assert other_arc.title not in page


@pytest.mark.parametrize("role", [Role.ADMINISTRATOR, Role.ANCHOR_CONTACT, Role.CLINICIAN])
def test_non_members_cannot_open_my_care_arc(client, role):
    client.force_login(user_with_role(role))
    assert client.get(reverse("arcs:my_care_arc")).status_code == 403


@pytest.mark.parametrize("role", [Role.ADMINISTRATOR, Role.ANCHOR_CONTACT])
def test_administrators_and_anchor_contacts_see_no_arc_at_all(role):
    CareSetting()
    assert not arcs_visible_to(user_with_role(role)).exists()


@pytest.mark.parametrize(
    "name",
    ["arcs:arc_list", "arcs:members_without_arc", "arcs:access_log", "arcs:outcome_measures"],
)
def test_hub_only_lists(client, name):
    care = CareSetting()
    for user, expected in (
        (care.clinician.user, 403),
        (care.member.user, 403),
        (user_with_role(Role.ADMINISTRATOR), 403),
        (care.hub.user, 200),
    ):
        client.force_login(user)
        assert client.get(reverse(name)).status_code == expected, (name, user)


def test_viewing_an_arc_is_written_to_the_access_log(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    client.get(reverse("arcs:arc_detail", args=[care.arc.pk]))
    entry = AccessLogEntry.objects.get()
    assert (entry.user, entry.member, entry.action, entry.record_type, entry.record_id) == (
        care.clinician.user,
        care.member,
        "view",
        "arc",
        care.arc.pk,
    )


def test_refused_views_leave_no_view_entry_only_a_denied_one(client):
    care = CareSetting()
    client.force_login(care.outsider.user)
    client.get(reverse("arcs:arc_detail", args=[care.arc.pk]))
    assert list(AccessLogEntry.objects.values_list("action", "member_id")) == [("denied", None)]
