"""Care team rules that every path holds: one hub coordinator, and leaving ends access."""

import datetime

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from careteam import selectors
from careteam.models import (
    CareTeamAssignment,
    ConsultationRequest,
    ConsultationStatus,
    Notification,
    TeamRole,
)
from careteam.services import (
    care_team_assign,
    care_team_end,
    consultation_answer,
    consultation_request,
    notification_email_send,
)
from clinic.delivery import DeliveryStatus
from clinic.roles import Role
from tests.arcs.factories import (
    CareSetting,
    CareTeamAssignmentFactory,
    discipline,
    hub_practitioner,
)
from tests.careteam.factories import PractitionerFactory
from tests.factories import user_with_role
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db


def hubs_of(member) -> list:
    return list(
        selectors.current_assignments()
        .filter(member=member, role=TeamRole.HUB_COORDINATOR)
        .values_list("practitioner_id", flat=True)
    )


# --- Exactly one hub coordinator -----------------------------------------------------------


def test_assigning_the_current_hub_as_practitioner_is_refused_and_keeps_the_hub():
    care = CareSetting()
    with pytest.raises(ValidationError, match="hub coordinator first"):
        care_team_assign(member=care.member, practitioner=care.hub, by=care.hub.user)
    assert hubs_of(care.member) == [care.hub.pk]


def test_team_page_refuses_making_the_hub_a_plain_practitioner(client):
    care = CareSetting()
    client.force_login(care.hub.user)
    response = client.post(
        reverse("careteam:care_team", args=[care.member.pk]),
        {"practitioner": care.hub.pk, "role": TeamRole.PRACTITIONER},
    )
    assert response.status_code == 400
    assert "hub coordinator first" in response.content.decode()
    assert hubs_of(care.member) == [care.hub.pk]


def test_a_team_cannot_be_created_without_its_hub_coordinator(client):
    member = MemberFactory()
    clinician = PractitionerFactory()
    hub = hub_practitioner()
    with pytest.raises(ValidationError, match="assign the hub coordinator first"):
        care_team_assign(member=member, practitioner=clinician, by=hub.user)
    client.force_login(hub.user)
    url = reverse("careteam:care_team", args=[member.pk])
    response = client.post(url, {"practitioner": clinician.pk, "role": TeamRole.PRACTITIONER})
    assert response.status_code == 400
    assert not CareTeamAssignment.objects.filter(member=member).exists()
    # Hub first, then the practitioner: the team is created with exactly one hub.
    client.post(url, {"practitioner": hub.pk, "role": TeamRole.HUB_COORDINATOR})
    client.post(url, {"practitioner": clinician.pk, "role": TeamRole.PRACTITIONER})
    assert hubs_of(member) == [hub.pk]
    assert selectors.care_team_of(member).count() == 2


def test_hub_handover_then_the_former_hub_may_stay_as_practitioner(client):
    care = CareSetting()
    new_hub = hub_practitioner()
    client.force_login(care.hub.user)
    url = reverse("careteam:care_team", args=[care.member.pk])
    client.post(url, {"practitioner": new_hub.pk, "role": TeamRole.HUB_COORDINATOR})
    assert hubs_of(care.member) == [new_hub.pk]
    care_team_assign(member=care.member, practitioner=care.hub, by=new_hub.user)
    assert hubs_of(care.member) == [new_hub.pk]
    assert selectors.care_team_of(care.member).filter(practitioner=care.hub).exists()


def test_ending_the_hub_assignment_is_refused_from_service_and_page(client):
    care = CareSetting()
    hub_assignment = CareTeamAssignment.objects.get(
        member=care.member, role=TeamRole.HUB_COORDINATOR
    )
    with pytest.raises(ValidationError, match="always has a hub coordinator"):
        care_team_end(assignment=hub_assignment, by=care.hub.user)
    client.force_login(care.hub.user)
    client.post(reverse("careteam:care_team_end", args=[hub_assignment.pk]))
    assert hubs_of(care.member) == [care.hub.pk]


# --- One access policy; leaving the team ends it --------------------------------------------


def leave(care) -> None:
    assignment = CareTeamAssignment.objects.get(
        member=care.member, practitioner=care.clinician, ended_on__isnull=True
    )
    care_team_end(assignment=assignment, by=care.hub.user)


def consultation_by_colleague(care) -> ConsultationRequest:
    """The team's physical therapist asks the team's clinician's discipline: the clinician
    is the addressee through the discipline, not by name."""
    colleague = PractitionerFactory(discipline=discipline("nutrition"))
    CareTeamAssignmentFactory(member=care.member, practitioner=colleague)
    return consultation_request(
        arc=care.arc,
        requested_by=colleague,
        to_discipline=care.clinician.discipline,
        question="Which exercises are safe?",
    )


def test_former_team_member_loses_the_consultation_its_answer_and_notifications(client):
    care = CareSetting()
    consultation = consultation_by_colleague(care)
    assert Notification.objects.filter(recipient=care.clinician.user).count() == 1
    leave(care)
    client.force_login(care.clinician.user)
    detail = reverse("careteam:consultation_detail", args=[consultation.pk])
    response = client.get(detail)
    assert response.status_code == 404
    assert "Which exercises" not in response.content.decode()
    assert client.post(detail, {"answer": "Squats."}).status_code == 404
    with pytest.raises(ValidationError):
        consultation_answer(consultation=consultation, answered_by=care.clinician, answer="No")
    consultation.refresh_from_db()
    assert consultation.status == ConsultationStatus.OPEN
    caseload = client.get(reverse("careteam:caseload"))
    assert caseload.context["notifications"] == []
    assert caseload.context["consultations"] == []
    listed = client.get(reverse("careteam:consultation_list"))
    assert list(listed.context["page"]) == []


def test_mail_queued_for_a_practitioner_who_left_is_never_sent():
    care = CareSetting()
    consultation_by_colleague(care)  # on_commit never ran: the email is still queued
    notification = Notification.objects.get(recipient=care.clinician.user)
    assert notification.status == DeliveryStatus.QUEUED
    leave(care)
    notification.refresh_from_db()
    assert notification.status == DeliveryStatus.GAVE_UP
    assert "cancelled" in notification.last_error
    # The task runs late (or twice): nothing is sent.
    assert notification_email_send(notification_id=notification.pk) == DeliveryStatus.GAVE_UP
    assert mail.outbox == []


def test_sending_task_rechecks_access_before_claiming():
    care = CareSetting()
    consultation_by_colleague(care)
    notification = Notification.objects.get(recipient=care.clinician.user)
    # Ended behind the service's back (the cancel did not run): the task still refuses.
    CareTeamAssignment.objects.filter(
        member=care.member, practitioner=care.clinician, ended_on__isnull=True
    ).update(ended_on=timezone.localdate())
    assert notification_email_send(notification_id=notification.pk) == DeliveryStatus.GAVE_UP
    assert mail.outbox == []


def test_named_addressee_outside_the_team_sees_it_only_while_open(client):
    care = CareSetting()
    doctor = PractitionerFactory(discipline=discipline("primary-care-medicine"))
    consultation = consultation_request(
        arc=care.arc,
        requested_by=care.clinician,
        to_discipline=doctor.discipline,
        to_practitioner=doctor,
        question="Medicines?",
    )
    client.force_login(doctor.user)
    detail = reverse("careteam:consultation_detail", args=[consultation.pk])
    assert client.get(detail).status_code == 200
    # The arc itself stays with the care team.
    assert client.get(reverse("arcs:arc_detail", args=[care.arc.pk])).status_code == 404
    client.post(detail, {"answer": "Unlikely."})
    assert client.get(detail).status_code == 404


CONSULTATION_STATUS_BY_ROLE = {
    "owner": (403, 404),
    "other_member": (403, 404),
    "team_clinician": (200,),
    "former_team_clinician": (404,),
    "outsider_clinician": (404,),
    "hub": (200,),
    "administrator": (403, 404),
    "anchor_contact": (403, 404),
}


@pytest.mark.parametrize("who", list(CONSULTATION_STATUS_BY_ROLE))
def test_consultation_page_by_role(client, who):
    care = CareSetting()
    former = PractitionerFactory()
    CareTeamAssignmentFactory(member=care.member, practitioner=former)
    consultation = consultation_request(
        arc=care.arc,
        requested_by=former,
        to_discipline=discipline("nutrition"),
        question="A question about diet",
    )
    care_team_end(
        assignment=CareTeamAssignment.objects.get(practitioner=former, ended_on__isnull=True),
        by=care.hub.user,
    )
    user = {
        "owner": care.member.user,
        "other_member": care.other_member.user,
        "team_clinician": care.clinician.user,
        "former_team_clinician": former.user,
        "outsider_clinician": care.outsider.user,
        "hub": care.hub.user,
        "administrator": user_with_role(Role.ADMINISTRATOR),
        "anchor_contact": user_with_role(Role.ANCHOR_CONTACT),
    }[who]
    client.force_login(user)
    response = client.get(reverse("careteam:consultation_detail", args=[consultation.pk]))
    assert response.status_code in CONSULTATION_STATUS_BY_ROLE[who]
    if response.status_code != 200:
        assert "A question about diet" not in response.content.decode()


def test_discipline_absent_from_the_team_goes_to_the_hub_coordinator_to_route():
    care = CareSetting()
    PractitionerFactory(discipline=discipline("acupuncture"))  # elsewhere in the clinic
    consultation_request(
        arc=care.arc,
        requested_by=care.clinician,
        to_discipline=discipline("acupuncture"),
        question="Needles?",
    )
    assert [n.recipient for n in Notification.objects.all()] == [care.hub.user]


# --- Errors that were 500s ------------------------------------------------------------------


def test_closing_an_unanswered_consultation_is_allowed_by_service_and_database(client):
    care = CareSetting()
    doctor = PractitionerFactory(discipline=discipline("primary-care-medicine"))
    consultation = consultation_request(
        arc=care.arc,
        requested_by=care.clinician,
        to_discipline=doctor.discipline,
        to_practitioner=doctor,
        question="Still needed?",
    )
    client.force_login(care.clinician.user)
    response = client.post(reverse("careteam:consultation_close", args=[consultation.pk]))
    assert response.status_code == 302
    consultation.refresh_from_db()
    assert (consultation.status, consultation.answer) == (ConsultationStatus.CLOSED, "")


@pytest.mark.parametrize(
    "value",
    ["9" * 30, "99999999999999999999", "-1", "\uff11\uff12", "\u00b2", "1e9", "0x10", "\x00"],
)
@pytest.mark.parametrize(
    "name", ["careteam:consultation_list", "careteam:care_team_members", "careteam:team_dashboard"]
)
def test_hostile_list_filters_are_ignored_never_a_500(client, name, value):
    care = CareSetting()
    client.force_login(care.hub.user)
    for param in ("discipline", "practitioner"):
        response = client.get(reverse(name), {param: value})
        assert response.status_code in (200, 400)


def test_assignment_dates_in_the_future_still_end_cleanly():
    care = CareSetting()
    assignment = CareTeamAssignment.objects.get(member=care.member, practitioner=care.clinician)
    with pytest.raises(ValidationError, match="before it started"):
        care_team_end(
            assignment=assignment,
            by=care.hub.user,
            ended_on=assignment.started_on - datetime.timedelta(days=1),
        )
