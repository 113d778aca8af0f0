"""Second factors encrypted at rest; login limits per real client behind the proxy."""

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    TOTP,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.db import connection
from django.test import Client
from django.urls import reverse

from clinic.roles import Role
from tests.factories import PASSWORD, user_with_role

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("account_login")


def test_totp_secret_is_stored_encrypted_and_still_logs_in(client):
    user = user_with_role(Role.ADMINISTRATOR)
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    with connection.cursor() as cursor:
        cursor.execute("SELECT data::text FROM mfa_authenticator WHERE user_id = %s", [user.pk])
        (stored,) = cursor.fetchone()
    assert secret not in stored

    response = client.post(LOGIN_URL, {"login": user.email, "password": PASSWORD})
    assert response.url == reverse("mfa_authenticate")
    code = format(hotp_value(secret, next(yield_hotp_counters_from_time())), "06d")
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 302
    assert client.get(reverse("administration")).status_code == 200
    assert Authenticator.objects.get(user=user).data["secret"].startswith("fernet:")


def _fail_login(client: Client, email: str, client_ip: str):
    return client.post(
        LOGIN_URL,
        {"login": email, "password": "wrong password"},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR=client_ip,
    )


def test_login_limits_count_each_real_client_behind_the_proxy(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "3/5m/ip,3/5m/key"}
    attacker_target = user_with_role(Role.ADMINISTRATOR)
    someone_else = user_with_role(Role.ADMINISTRATOR)
    attacker = Client()
    for _ in range(4):
        _fail_login(attacker, attacker_target.email, "203.0.113.7")
    assert (
        "Too many failed login attempts"
        in _fail_login(attacker, attacker_target.email, "203.0.113.7").content.decode()
    )
    # Every request arrives from the proxy's address; another person is not locked out.
    response = Client().post(
        LOGIN_URL,
        {"login": someone_else.email, "password": PASSWORD},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.20",
    )
    assert response.status_code == 302
