import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from careteam.models import CareTeamAssignment, TeamRole
from careteam.selectors import care_team_of, members_in_care_of
from careteam.services import care_team_assign, care_team_end
from clinic.roles import Role
from tests.arcs.factories import CareSetting, CareTeamAssignmentFactory, hub_practitioner
from tests.careteam.factories import PractitionerFactory
from tests.factories import user_with_role
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db


def test_database_refuses_a_second_current_hub_coordinator():
    member = MemberFactory()
    CareTeamAssignmentFactory(
        member=member, practitioner=hub_practitioner(), role="hub_coordinator"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        CareTeamAssignment.objects.create(
            member=member,
            practitioner=hub_practitioner(),
            role=TeamRole.HUB_COORDINATOR,
            started_on=timezone.localdate(),
        )


def test_ended_hub_assignments_do_not_count_against_the_constraint():
    member = MemberFactory()
    CareTeamAssignmentFactory(
        member=member,
        practitioner=hub_practitioner(),
        role=TeamRole.HUB_COORDINATOR,
        ended_on=timezone.localdate(),
    )
    CareTeamAssignmentFactory(
        member=member, practitioner=hub_practitioner(), role="hub_coordinator"
    )
    assert CareTeamAssignment.objects.filter(member=member).count() == 2


def test_assigning_a_new_hub_coordinator_hands_the_function_over_and_keeps_history():
    care = CareSetting()
    new_hub = hub_practitioner()
    care_team_assign(
        member=care.member, practitioner=new_hub, role=TeamRole.HUB_COORDINATOR, by=care.hub.user
    )
    hubs = care_team_of(care.member).filter(role=TeamRole.HUB_COORDINATOR)
    assert [a.practitioner for a in hubs] == [new_hub]
    old = CareTeamAssignment.objects.get(practitioner=care.hub, member=care.member)
    assert old.ended_on == timezone.localdate()


def test_only_a_hub_coordinator_can_hold_the_hub_function():
    care = CareSetting()
    with pytest.raises(ValidationError, match="not a hub coordinator"):
        care_team_assign(
            member=care.member,
            practitioner=care.outsider,
            role=TeamRole.HUB_COORDINATOR,
            by=care.hub.user,
        )


def test_the_hub_assignment_cannot_simply_be_ended():
    care = CareSetting()
    hub_assignment = CareTeamAssignment.objects.get(practitioner=care.hub)
    with pytest.raises(ValidationError, match="always has a hub coordinator"):
        care_team_end(assignment=hub_assignment, by=care.hub.user)


def test_ending_an_assignment_removes_the_practitioner_from_the_current_team():
    care = CareSetting()
    assignment = CareTeamAssignment.objects.get(practitioner=care.clinician)
    care_team_end(assignment=assignment, by=care.hub.user)
    assert care.member not in members_in_care_of(care.clinician.user)
    with pytest.raises(ValidationError, match="already ended"):
        care_team_end(assignment=assignment, by=care.hub.user)


def test_the_same_practitioner_cannot_be_assigned_twice():
    care = CareSetting()
    with pytest.raises(ValidationError, match="already on the care team"):
        care_team_assign(member=care.member, practitioner=care.clinician, by=care.hub.user)


def test_members_in_care_of_lists_only_current_teams():
    care = CareSetting()
    CareTeamAssignmentFactory(
        member=care.other_member,
        practitioner=care.clinician,
        started_on=timezone.localdate() - datetime.timedelta(days=60),
        ended_on=timezone.localdate() - datetime.timedelta(days=1),
    )
    assert list(members_in_care_of(care.clinician.user)) == [care.member]
    assert list(members_in_care_of(care.outsider.user)) == []
    assert list(members_in_care_of(user_with_role(Role.ADMINISTRATOR))) == []


def test_caseload_shows_name_and_contact_of_my_members_only(client):
    care = CareSetting()
    care.member.phone = "+31 6 1234 5678"
    care.member.save()
    client.force_login(care.clinician.user)
    page = client.get(reverse("careteam:caseload")).content.decode()
    assert "<h1>My caseload</h1>" in page
    assert care.member.user.email in page
    assert "+31 6 1234 5678" in page
    assert care.other_member.user.email not in page


def test_hub_coordinator_assigns_a_care_team_from_the_team_page(client):
    care = CareSetting()
    newcomer = PractitionerFactory()
    client.force_login(care.hub.user)
    response = client.post(
        reverse("careteam:care_team", args=[care.member.pk]),
        {"practitioner": newcomer.pk, "role": TeamRole.PRACTITIONER},
    )
    assert response.status_code == 302
    assert care.member in members_in_care_of(newcomer.user)


def test_bad_assignment_shows_an_error_and_changes_nothing(client):
    care = CareSetting()
    client.force_login(care.hub.user)
    before = CareTeamAssignment.objects.count()
    response = client.post(
        reverse("careteam:care_team", args=[care.member.pk]),
        {"practitioner": care.outsider.pk, "role": TeamRole.HUB_COORDINATOR},
    )
    assert response.status_code == 400
    assert "not a hub coordinator" in response.content.decode()
    assert CareTeamAssignment.objects.count() == before


def test_clinician_sees_own_team_page_but_cannot_assign(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    url = reverse("careteam:care_team", args=[care.member.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"practitioner": care.outsider.pk, "role": "practitioner"})
    assert response.status_code == 403
    assert care.member not in members_in_care_of(care.outsider.user)


def test_outsider_clinician_gets_404_on_another_team(client):
    care = CareSetting()
    client.force_login(care.outsider.user)
    assert client.get(reverse("careteam:care_team", args=[care.member.pk])).status_code == 404
    assert client.get(reverse("careteam:care_team", args=[999999])).status_code == 404


@pytest.mark.parametrize("role", [Role.MEMBER, Role.ADMINISTRATOR, Role.ANCHOR_CONTACT])
def test_non_clinical_roles_cannot_open_care_team_pages(client, role):
    care = CareSetting()
    client.force_login(care.member.user if role is Role.MEMBER else user_with_role(role))
    for url in (
        reverse("careteam:caseload"),
        reverse("careteam:team_dashboard"),
        reverse("careteam:care_team_members"),
        reverse("careteam:care_team", args=[care.member.pk]),
        reverse("careteam:consultation_list"),
    ):
        assert client.get(url).status_code == 403, url


def test_only_the_hub_coordinator_ends_assignments(client):
    care = CareSetting()
    assignment = CareTeamAssignment.objects.get(practitioner=care.clinician)
    url = reverse("careteam:care_team_end", args=[assignment.pk])
    client.force_login(care.clinician.user)
    assert client.post(url).status_code == 403
    client.force_login(care.hub.user)
    assert client.post(url).status_code == 302
    assignment.refresh_from_db()
    assert assignment.ended_on == timezone.localdate()


def test_care_team_members_list_filters_members_without_hub(client):
    care = CareSetting()
    client.force_login(care.hub.user)
    page = client.get(reverse("careteam:care_team_members") + "?without_hub=1").content.decode()
    assert care.other_member.full_name in page
    assert care.member.full_name not in page
