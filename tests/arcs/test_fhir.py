import datetime
import json
from decimal import Decimal

import pytest
from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle

from arcs import services
from arcs.models import AccessLogEntry
from clinic.roles import Role
from tests.arcs.factories import ArcFactory, CareSetting, GoalFactory, measure
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def recorded_care() -> CareSetting:
    care = CareSetting()
    today = datetime.date.today()
    for days, value in ((60, "6.5"), (30, "4"), (1, "3")):
        services.measurement_record(
            arc=care.arc,
            measure=care.goal.measure,
            value=Decimal(value),
            measured_on=today - datetime.timedelta(days=days),
            by=care.clinician.user,
        )
    services.note_add(arc=care.arc, text="Shared words", visibility="shared", by=care.hub.user)
    services.note_add(arc=care.arc, text="Team only words", visibility="internal", by=care.hub.user)
    second = ArcFactory(member=care.member, status="achieved", closed_on=today)
    GoalFactory(arc=second, measure=measure("walking-distance"), baseline=100, target=900)
    ArcFactory(member=care.other_member)
    return care


def resources(bundle: Bundle, kind: str) -> list:
    return [e.resource for e in bundle.entry if e.resource.get_resource_type() == kind]


def test_member_downloads_own_bundle_which_validates_and_matches_the_database(client):
    care = recorded_care()
    client.force_login(care.member.user)
    response = client.get(reverse("arcs:my_fhir_export"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    assert "attachment" in response["Content-Disposition"]
    bundle = Bundle.model_validate(json.loads(response.content))
    assert bundle.type == "collection"

    (patient,) = resources(bundle, "Patient")
    assert patient.telecom[0].value == care.member.user.email
    assert patient.identifier[0].value == str(care.member.number)
    (team,) = resources(bundle, "CareTeam")
    names = {p.member.display for p in team.participant}
    assert names == {care.clinician.user.get_full_name(), care.hub.user.get_full_name()}

    plans = resources(bundle, "CarePlan")
    arcs = list(care.member.arcs.order_by("pk"))
    assert [p.title for p in plans] == [a.title for a in arcs]
    assert [p.status for p in plans] == ["active", "completed"]
    notes = [n.text for n in plans[0].note]
    assert notes == ["Shared words"]  # internal notes stay with the team

    goals = resources(bundle, "Goal")
    assert len(goals) == 2
    assert goals[0].target[0].detailQuantity.value == Decimal(care.goal.target)
    assert goals[0].target[0].measure.coding[0].code == care.goal.measure.loinc_code

    observations = resources(bundle, "Observation")
    stored = list(care.arc.measurements.order_by("measured_on"))
    assert [(o.effectiveDateTime.isoformat(), o.valueQuantity.value) for o in observations] == [
        (m.measured_on.isoformat(), m.value) for m in stored
    ]
    urls = {e.fullUrl for e in bundle.entry}
    for observation in observations:
        assert observation.subject.reference in urls
        assert observation.basedOn[0].reference in urls
    # Another member's arcs never appear.
    assert care.other_member.full_name not in response.content.decode()


def test_export_is_access_logged():
    care = recorded_care()
    from django.test import Client

    client = Client()
    client.force_login(care.hub.user)
    client.get(reverse("arcs:member_fhir_export", args=[care.member.pk]))
    entry = AccessLogEntry.objects.get(action="export")
    assert (entry.user, entry.member) == (care.hub.user, care.member)


def test_hub_coordinator_downloads_any_members_bundle(client):
    care = recorded_care()
    client.force_login(care.hub.user)
    response = client.get(reverse("arcs:member_fhir_export", args=[care.other_member.pk]))
    assert response.status_code == 200
    Bundle.model_validate(json.loads(response.content))
    assert client.get(reverse("arcs:member_fhir_export", args=[999999])).status_code == 404


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.ADMINISTRATOR, Role.ANCHOR_CONTACT])
def test_others_cannot_download_a_members_bundle(client, role):
    care = CareSetting()
    user = care.clinician.user if role is Role.CLINICIAN else user_with_role(role)
    client.force_login(user)
    assert client.get(reverse("arcs:member_fhir_export", args=[care.member.pk])).status_code == 403
    assert client.get(reverse("arcs:my_fhir_export")).status_code == 403
