"""Sessions end when idle, when too old, and everywhere at logout; pages are never cached."""

import time

import pytest
from django.test import Client
from django.urls import reverse

from clinic.middleware import SessionPolicyMiddleware
from clinic.roles import Role
from tests.factories import UserFactory, user_with_role
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db

MY_MEMBERSHIP = reverse("members:my_membership")
ADMINISTRATION = reverse("administration")


def _age_session(client, *, seen_ago: float = 0, started_ago: float = 0) -> None:
    session = client.session
    now = time.time()
    session[SessionPolicyMiddleware.SEEN] = now - seen_ago
    session[SessionPolicyMiddleware.STARTED] = now - started_ago
    session.save()


def test_staff_session_ends_after_the_staff_idle_timeout(client, settings):
    settings.CLINIC_STAFF_SESSION_IDLE_MINUTES = 30
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    _age_session(client, seen_ago=29 * 60, started_ago=29 * 60)
    assert client.get(ADMINISTRATION).status_code == 200
    _age_session(client, seen_ago=31 * 60, started_ago=31 * 60)
    response = client.get(ADMINISTRATION)
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert client.get(ADMINISTRATION).status_code == 302


def test_member_idle_timeout_is_its_own_setting(client, settings):
    settings.CLINIC_STAFF_SESSION_IDLE_MINUTES = 30
    settings.CLINIC_SESSION_IDLE_MINUTES = 120
    client.force_login(MemberFactory().user)
    _age_session(client, seen_ago=60 * 60, started_ago=60 * 60)
    assert client.get(MY_MEMBERSHIP).status_code == 200
    _age_session(client, seen_ago=121 * 60, started_ago=121 * 60)
    assert client.get(MY_MEMBERSHIP).status_code == 302


def test_an_active_session_still_ends_at_its_absolute_lifetime(client, settings):
    settings.CLINIC_SESSION_MAX_HOURS = 12
    client.force_login(MemberFactory().user)
    _age_session(client, seen_ago=10, started_ago=11 * 3600)
    assert client.get(MY_MEMBERSHIP).status_code == 200
    _age_session(client, seen_ago=10, started_ago=12 * 3600 + 60)
    assert client.get(MY_MEMBERSHIP).status_code == 302


def test_logging_out_ends_the_persons_sessions_on_every_device():
    user = MemberFactory().user
    laptop, phone = Client(), Client()
    laptop.force_login(user)
    phone.force_login(user)
    assert phone.get(MY_MEMBERSHIP).status_code == 200
    laptop.post(reverse("account_logout"))
    assert phone.get(MY_MEMBERSHIP).status_code == 302


def test_deactivating_a_person_ends_their_sessions(client):
    user = MemberFactory().user
    client.force_login(user)
    assert client.get(MY_MEMBERSHIP).status_code == 200
    user.is_active = False
    user.save()
    assert client.get(MY_MEMBERSHIP).status_code == 302


def test_superusers_count_as_staff_for_the_mfa_requirement(client, settings):
    settings.CLINIC_REQUIRE_STAFF_MFA = True
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    response = client.get("/django-admin/")
    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp")


def test_logged_in_pages_are_not_stored_by_browsers_or_proxies(client):
    client.force_login(MemberFactory().user)
    cache_control = client.get(MY_MEMBERSHIP)["Cache-Control"]
    assert "no-store" in cache_control
    assert "private" in cache_control
