"""Every view of clinical content, and every refused look at a record, is in the access log."""

import pytest
from django.urls import reverse

from arcs.models import AccessAction, AccessLogEntry
from careteam import services as careteam_services
from clinic.roles import Role
from tests.arcs.factories import CareSetting, discipline
from tests.billing.helpers import member_invoice
from tests.careteam.factories import PractitionerFactory
from tests.factories import user_with_role
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def care() -> CareSetting:
    return CareSetting()


def _entries(user, action):
    return list(AccessLogEntry.objects.filter(user=user, action=action))


def test_an_outsider_clinician_guessing_an_arc_id_leaves_a_denied_entry(client, care):
    client.force_login(care.outsider.user)
    for name in ("arcs:arc_detail", "arcs:arc_edit", "arcs:note_add"):
        path = reverse(name, args=[care.arc.pk])
        assert client.get(path).status_code == 404
    denied = _entries(care.outsider.user, AccessAction.DENIED)
    assert [(e.record_type, e.record_id) for e in denied] == [("arc", care.arc.pk)] * 3
    assert {e.detail for e in denied} == {
        reverse(name, args=[care.arc.pk])
        for name in ("arcs:arc_detail", "arcs:arc_edit", "arcs:note_add")
    }
    # Whose arc it would have been is not recorded against the guess.
    assert all(e.member_id is None and e.at for e in denied)
    assert not _entries(care.outsider.user, AccessAction.VIEW)


def test_a_guess_at_an_id_that_does_not_exist_is_logged_too(client, care):
    client.force_login(care.outsider.user)
    assert client.get(reverse("arcs:arc_detail", args=[2**62])).status_code == 404
    assert client.get(f"/arcs/{10**30}/").status_code == 404
    denied = _entries(care.outsider.user, AccessAction.DENIED)
    assert sorted((e.record_id is None, e.record_id) for e in denied) == [
        (False, 2**62),
        (True, None),
    ]


def test_a_member_guessing_an_invoice_id_leaves_a_denied_entry(client):
    other = member_invoice()
    member = MemberFactory()
    client.force_login(member.user)
    path = reverse("billing:invoice_pdf", args=[other.pk])
    assert client.get(path).status_code == 404
    [entry] = _entries(member.user, AccessAction.DENIED)
    assert (entry.record_type, entry.record_id, entry.detail) == ("invoice", other.pk, path)


def test_a_role_refusal_on_a_clinical_record_is_logged(client, care):
    """An administrator sees no clinical content: trying is a denied entry, not silence."""
    admin = user_with_role(Role.ADMINISTRATOR)
    client.force_login(admin)
    assert client.get(reverse("arcs:arc_edit", args=[care.arc.pk])).status_code == 403
    [entry] = _entries(admin, AccessAction.DENIED)
    assert (entry.record_type, entry.record_id) == ("arc", care.arc.pk)


def test_allowed_pages_and_other_pages_leave_no_denied_entry(client, care):
    client.force_login(care.clinician.user)
    assert client.get(reverse("arcs:arc_detail", args=[care.arc.pk])).status_code == 200
    assert client.get(reverse("arcs:arc_list")).status_code == 403  # a hub page, no record
    assert not _entries(care.clinician.user, AccessAction.DENIED)


@pytest.mark.parametrize(
    ("name", "detail"),
    [
        ("arcs:arc_edit", "plan form"),
        ("arcs:measurement_add", "measure form"),
        ("arcs:note_add", "note form"),
        ("arcs:arc_status", "status form"),
        ("arcs:arc_review", "review form"),
        ("careteam:consultation_new", "consultation form"),
    ],
)
def test_arc_form_pages_log_a_view_of_the_arc(client, care, name, detail):
    client.force_login(care.clinician.user)
    assert client.get(reverse(name, args=[care.arc.pk])).status_code == 200
    [entry] = _entries(care.clinician.user, AccessAction.VIEW)
    assert (entry.member_id, entry.record_type, entry.record_id, entry.detail) == (
        care.member.pk,
        "arc",
        care.arc.pk,
        detail,
    )


def test_goal_forms_log_a_view_of_the_arc(client, care):
    client.force_login(care.clinician.user)
    add = reverse("arcs:plan_item_add", args=[care.arc.pk, "goal"])
    change = reverse("arcs:plan_item_edit", args=[care.arc.pk, "goal", care.goal.pk])
    assert client.get(add).status_code == 200
    assert client.get(change).status_code == 200
    entries = _entries(care.clinician.user, AccessAction.VIEW)
    assert [(e.member_id, e.record_id, e.detail) for e in entries] == [
        (care.member.pk, care.arc.pk, "goal form")
    ] * 2


def test_consultation_page_logs_a_view(client, care):
    PractitionerFactory(discipline=discipline("nutrition"))
    consultation = careteam_services.consultation_request(
        arc=care.arc,
        requested_by=care.clinician,
        to_discipline=discipline("nutrition"),
        question="Diet?",
    )
    client.force_login(care.clinician.user)
    assert (
        client.get(reverse("careteam:consultation_detail", args=[consultation.pk])).status_code
        == 200
    )
    [entry] = _entries(care.clinician.user, AccessAction.VIEW)
    assert (entry.member_id, entry.record_type, entry.record_id) == (
        care.member.pk,
        "consultation",
        consultation.pk,
    )


@pytest.mark.parametrize(
    ("name", "who", "list_name"),
    [
        ("careteam:caseload", "clinician", "caseload"),
        ("careteam:consultation_list", "clinician", "consultation list"),
        ("careteam:reviews_due", "clinician", "reviews due"),
        ("careteam:team_dashboard", "hub", "team dashboard"),
        ("careteam:care_team_members", "hub", "care team members"),
        ("arcs:arc_list", "hub", "arc list"),
        ("arcs:members_without_arc", "hub", "members without arc"),
    ],
)
def test_caseload_and_hub_lists_log_one_list_entry_per_request(client, care, name, who, list_name):
    user = getattr(care, who).user
    client.force_login(user)
    path = reverse(name) + "?page=1"
    assert client.get(path).status_code == 200
    assert client.get(path).status_code == 200
    entries = _entries(user, AccessAction.LIST)
    assert [(e.member_id, e.record_type, e.detail) for e in entries] == [
        (None, list_name, path)
    ] * 2
    assert not _entries(user, AccessAction.VIEW)
