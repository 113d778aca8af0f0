import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from careteam.models import ConsultationRequest, ConsultationStatus, Notification
from careteam.selectors import consultations_addressed_to
from careteam.services import consultation_answer, consultation_close, consultation_request
from tests.arcs.factories import CareSetting, CareTeamAssignmentFactory, discipline
from tests.careteam.factories import PractitionerFactory

pytestmark = pytest.mark.django_db


def ask(care, to, **kwargs):
    return consultation_request(
        arc=care.arc,
        requested_by=care.clinician,
        to_discipline=to.discipline,
        to_practitioner=to,
        question="Could the medicines explain it?",
        **kwargs,
    )


def test_named_colleague_is_notified_in_app_and_by_email(
    django_capture_on_commit_callbacks, settings
):
    settings.CLINIC_SITE_URL = "https://clinic.example.org"
    care = CareSetting()
    doctor = PractitionerFactory(discipline=discipline("primary-care-medicine"))
    with django_capture_on_commit_callbacks(execute=True):
        consultation = ask(care, doctor)
    notification = Notification.objects.get()
    assert notification.recipient == doctor.user
    assert notification.status == "sent" and notification.sent_at is not None
    assert [m.to for m in mail.outbox] == [[doctor.user.email]]
    # The email points to the request; clinical content stays in the app.
    assert "medicines" not in mail.outbox[0].body
    link = reverse("careteam:consultation_detail", args=[consultation.pk])
    assert f"https://clinic.example.org{link}" in mail.outbox[0].body
    assert list(consultations_addressed_to(doctor.user)) == [consultation]


def test_discipline_request_goes_to_that_discipline_on_the_care_team_first():
    care = CareSetting()
    on_team = PractitionerFactory(discipline=discipline("nutrition"))
    PractitionerFactory(discipline=discipline("nutrition"))
    CareTeamAssignmentFactory(member=care.member, practitioner=on_team)
    consultation_request(
        arc=care.arc,
        requested_by=care.clinician,
        to_discipline=discipline("nutrition"),
        question="Diet advice?",
    )
    assert [n.recipient for n in Notification.objects.all()] == [on_team.user]


def test_answer_then_close_and_the_requester_is_notified():
    care = CareSetting()
    doctor = PractitionerFactory(discipline=discipline("primary-care-medicine"))
    consultation = ask(care, doctor)
    consultation_answer(consultation=consultation, answered_by=doctor, answer="Unlikely.")
    consultation.refresh_from_db()
    assert consultation.status == ConsultationStatus.ANSWERED
    assert Notification.objects.filter(recipient=care.clinician.user).exists()
    consultation_close(consultation=consultation)
    consultation.refresh_from_db()
    assert consultation.status == ConsultationStatus.CLOSED
    with pytest.raises(ValidationError, match="cannot become answered"):
        consultation_answer(consultation=consultation, answered_by=doctor, answer="Again")


def test_colleague_must_practise_the_discipline_asked():
    care = CareSetting()
    with pytest.raises(ValidationError, match="does not practise"):
        consultation_request(
            arc=care.arc,
            requested_by=care.clinician,
            to_discipline=discipline("nutrition"),
            to_practitioner=care.outsider,
            question="?",
        )
    assert not ConsultationRequest.objects.exists()


def test_consultation_views_by_role(client):
    care = CareSetting()
    doctor = PractitionerFactory(discipline=discipline("primary-care-medicine"))
    client.force_login(care.clinician.user)
    response = client.post(
        reverse("careteam:consultation_new", args=[care.arc.pk]),
        {"to_discipline": doctor.discipline.pk, "to_practitioner": doctor.pk, "question": "Why?"},
    )
    consultation = ConsultationRequest.objects.get()
    assert response.status_code == 302
    detail = reverse("careteam:consultation_detail", args=[consultation.pk])
    # The addressee answers; an outsider clinician cannot even see it.
    client.force_login(care.outsider.user)
    assert client.get(detail).status_code == 404
    client.force_login(doctor.user)
    assert client.post(detail, {"answer": "Because."}).status_code == 302
    consultation.refresh_from_db()
    assert consultation.answer == "Because."
    # Only the requester (or hub) closes it; the named addressee, not on the member's team,
    # sees the consultation only while it is open.
    close = reverse("careteam:consultation_close", args=[consultation.pk])
    assert client.post(close).status_code == 404
    client.force_login(care.clinician.user)
    assert client.post(close).status_code == 302
    consultation.refresh_from_db()
    assert consultation.status == ConsultationStatus.CLOSED


def test_outsider_cannot_ask_about_an_arc_not_in_their_care(client):
    care = CareSetting()
    client.force_login(care.outsider.user)
    url = reverse("careteam:consultation_new", args=[care.arc.pk])
    assert client.get(url).status_code == 404


def test_empty_question_shows_an_error_and_creates_nothing(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    response = client.post(
        reverse("careteam:consultation_new", args=[care.arc.pk]),
        {"to_discipline": discipline("nutrition").pk, "question": ""},
    )
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert not ConsultationRequest.objects.exists()


def test_consultations_and_care_team_pages_are_access_logged(client):
    from arcs.models import AccessLogEntry

    care = CareSetting()
    doctor = PractitionerFactory(discipline=discipline("primary-care-medicine"))
    consultation = ask(care, doctor)
    consultation_answer(consultation=consultation, answered_by=doctor, answer="Unlikely.")
    client.force_login(care.clinician.user)
    client.get(reverse("careteam:consultation_detail", args=[consultation.pk]))
    client.post(reverse("careteam:consultation_close", args=[consultation.pk]))
    client.get(reverse("careteam:care_team", args=[care.member.pk]))
    rows = [
        (entry.user, entry.action, entry.record_type, entry.record_id, entry.member_id)
        for entry in AccessLogEntry.objects.order_by("pk")
    ]
    c, m = consultation.pk, care.member.pk
    assert rows == [
        (care.clinician.user, "change", "consultation", c, m),
        (doctor.user, "change", "consultation", c, m),
        (care.clinician.user, "view", "consultation", c, m),
        (care.clinician.user, "change", "consultation", c, m),
        (care.clinician.user, "view", "care_team", m, m),
    ]
