import datetime

import pytest
from django.urls import reverse

from arcs.models import Arc, ArcVersion, Intervention, OutcomeMeasure
from careteam.models import Notification
from careteam.services import consultation_request
from tests.arcs.factories import CareSetting, discipline
from tests.careteam.factories import PractitionerFactory

pytestmark = pytest.mark.django_db


def test_team_clinician_starts_a_draft_arc_for_a_member_in_care(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    response = client.post(
        reverse("arcs:arc_create", args=[care.member.pk]),
        {
            "title": "Climb stairs",
            "endpoint": "Climb to the third floor",
            "lead_discipline": discipline().pk,
            "review_every_days": 21,
            "next_review_on": "",
        },
    )
    arc = Arc.objects.get(title="Climb stairs")
    assert response.url == reverse("arcs:arc_detail", args=[arc.pk])
    assert arc.status == "draft"
    assert ArcVersion.objects.get(arc=arc).changed_by == care.clinician.user


def test_outsider_cannot_start_an_arc_for_a_member_not_in_their_care(client):
    care = CareSetting()
    client.force_login(care.outsider.user)
    assert client.get(reverse("arcs:arc_create", args=[care.member.pk])).status_code == 404


def test_bad_arc_input_shows_errors_and_changes_nothing(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    response = client.post(
        reverse("arcs:arc_edit", args=[care.arc.pk]),
        {"title": "", "endpoint": "x", "lead_discipline": discipline().pk, "review_every_days": 0},
    )
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    care.arc.refresh_from_db()
    assert care.arc.title != ""
    assert not ArcVersion.objects.exists()


def test_intervention_practitioner_must_practise_its_discipline(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    response = client.post(
        reverse("arcs:plan_item_add", args=[care.arc.pk, "intervention"]),
        {
            "description": "Diet plan",
            "discipline": discipline("nutrition").pk,
            "practitioner": care.clinician.pk,
            "frequency": "Monthly",
            "starts_on": datetime.date.today().isoformat(),
        },
    )
    assert response.status_code == 200
    assert "does not practise" in response.content.decode()
    assert not Intervention.objects.exists()


def test_unknown_plan_item_kind_is_404(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    assert client.get(f"/arcs/{care.arc.pk}/secrets/new/").status_code == 404


def test_hub_defines_a_clinic_outcome_measure(client):
    care = CareSetting()
    client.force_login(care.hub.user)
    response = client.post(
        reverse("arcs:outcome_measures"),
        {
            "name": "Grip strength",
            "unit": "kg",
            "direction": "higher",
            "min_value": "0",
            "max_value": "120",
        },
    )
    assert response.status_code == 302
    # The form asks for no slug: it is made from the name; the UCUM code from the unit.
    measure = OutcomeMeasure.objects.get(slug="grip-strength")
    assert (measure.direction, measure.ucum_code) == ("higher", "kg")
    assert (measure.min_value, measure.max_value) == (0, 120)


def test_opening_a_consultation_marks_its_notification_read(client):
    care = CareSetting()
    doctor = PractitionerFactory(discipline=discipline("primary-care-medicine"))
    consultation = consultation_request(
        arc=care.arc,
        requested_by=care.clinician,
        to_discipline=doctor.discipline,
        to_practitioner=doctor,
        question="?",
    )
    client.force_login(doctor.user)
    client.get(reverse("careteam:consultation_detail", args=[consultation.pk]))
    assert Notification.objects.get().read_at is not None
