"""Every page of the register against every role: who gets in, who gets 403, 404 or login."""

import pytest
from django.urls import reverse

from clinic.roles import Role
from tests.careteam.factories import PractitionerFactory
from tests.factories import user_with_role
from tests.members.factories import ApplicantFactory, MemberFactory, ShareClassFactory, holding
from tests.reauth import reauthenticate

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    share_class = ShareClassFactory()
    member = MemberFactory()
    holding(member, share_class, 1)
    applicant = ApplicantFactory()
    return {"member": member, "applicant": applicant, "share_class": share_class}


def person(role: Role):
    if role is Role.MEMBER:
        return MemberFactory().user
    if role in (Role.CLINICIAN, Role.HUB_COORDINATOR):
        return PractitionerFactory(user__roles=[role]).user
    return user_with_role(role)


ADMIN_PAGES = [
    ("members:applications", lambda w: {}),
    ("members:application_detail", lambda w: {"pk": w["applicant"].pk}),
    ("members:register", lambda w: {}),
    ("members:register_csv", lambda w: {}),
    ("members:register_exports", lambda w: {}),
    ("members:register_import", lambda w: {}),
    ("members:member_detail", lambda w: {"pk": w["member"].pk}),
    ("members:ledger", lambda w: {}),
    ("members:fee_plans", lambda w: {}),
]
ADMIN_ACTIONS = [
    ("members:application_approve", lambda w: {"pk": w["applicant"].pk}),
    ("members:application_reject", lambda w: {"pk": w["applicant"].pk}),
    ("members:member_status", lambda w: {"pk": w["member"].pk}),
    ("members:member_plan", lambda w: {"pk": w["member"].pk}),
    ("members:member_orientation", lambda w: {"pk": w["member"].pk}),
    ("members:member_shares", lambda w: {"pk": w["member"].pk, "action": "subscribe"}),
    ("members:ledger_reverse", lambda w: {"pk": w["member"].share_entries.get().pk}),
]
MEMBER_PAGES = ["members:my_membership", "members:my_details"]
NOT_ADMIN = [Role.MEMBER, Role.CLINICIAN, Role.HUB_COORDINATOR, Role.ANCHOR_CONTACT]
NOT_MEMBER = [Role.CLINICIAN, Role.HUB_COORDINATOR, Role.ADMINISTRATOR, Role.ANCHOR_CONTACT]


@pytest.mark.parametrize(("name", "kwargs"), ADMIN_PAGES)
def test_administrators_open_every_register_page(client, world, name, kwargs):
    client.force_login(person(Role.ADMINISTRATOR))
    reauthenticate(client)  # the register's CSV export asks for the password again
    assert client.get(reverse(name, kwargs=kwargs(world))).status_code == 200


@pytest.mark.parametrize("role", NOT_ADMIN)
def test_other_roles_are_refused_every_register_page_and_action(client, world, role):
    client.force_login(person(role))
    for name, kwargs in ADMIN_PAGES:
        assert client.get(reverse(name, kwargs=kwargs(world))).status_code == 403, name
    for name, kwargs in ADMIN_ACTIONS:
        assert client.post(reverse(name, kwargs=kwargs(world))).status_code == 403, name
    world["applicant"].refresh_from_db()
    assert world["applicant"].status == "applicant"


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    for name, kwargs in [*ADMIN_PAGES, *[(n, lambda w: {}) for n in MEMBER_PAGES]]:
        response = client.get(reverse(name, kwargs=kwargs(world)))
        assert response.status_code == 302, name
        assert response.url.startswith(reverse("account_login"))


@pytest.mark.parametrize("role", NOT_MEMBER)
def test_only_members_have_a_my_membership_page(client, role):
    client.force_login(person(role))
    for name in MEMBER_PAGES:
        assert client.get(reverse(name)).status_code == 403


def test_admin_actions_need_post(client, world):
    client.force_login(person(Role.ADMINISTRATOR))
    for name, kwargs in ADMIN_ACTIONS:
        assert client.get(reverse(name, kwargs=kwargs(world))).status_code == 405, name


def test_guessed_ids_give_404_to_administrators(client, world):
    client.force_login(person(Role.ADMINISTRATOR))
    member_pk = world["member"].pk
    assert client.get(reverse("members:member_detail", args=[999999])).status_code == 404
    # An admitted member is not an application.
    assert client.get(reverse("members:application_detail", args=[member_pk])).status_code == 404
    assert client.post(reverse("members:application_approve", args=[member_pk])).status_code == 404
    response = client.post(reverse("members:member_shares", args=[member_pk, "steal"]))
    assert response.status_code == 404
    assert client.get(reverse("members:register_export_download", args=[1])).status_code == 404


def test_public_pages_are_open_to_everyone(client):
    for url in (reverse("join"), reverse("rules"), reverse("members:join_done")):
        assert client.get(url).status_code == 200
