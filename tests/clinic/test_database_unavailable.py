"""When PostgreSQL cannot be reached, people get a plain 503 page and the site recovers."""

import socket

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests.members.factories import MemberFactory

pytestmark = pytest.mark.faults


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_pages_answer_503_without_a_traceback_and_recover_when_the_database_returns():
    client = Client(raise_request_exception=False)
    client.force_login(MemberFactory().user)
    page = reverse("members:my_membership")
    assert client.get(page).status_code == 200

    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = _closed_port()
    try:
        response = client.get(page)
        health = Client().get("/healthz")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = real_port

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.content.decode()
    assert "Temporarily unavailable" in body
    assert "Traceback" not in body and "OperationalError" not in body
    assert health.status_code == 503
    assert health.json()["database"].startswith("error")
    # The next request reconnects by itself.
    assert client.get(page).status_code == 200


def test_an_unexpected_error_gets_the_plain_500_page():
    from clinic.views import server_error

    try:
        raise ValueError("a bug")
    except ValueError:
        response = server_error(None)
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


@pytest.mark.django_db
def test_error_pages_use_the_sites_layout(client, settings):
    from tests.members.factories import MemberFactory

    settings.DEBUG = False
    client.force_login(MemberFactory().user)
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    body = page.content.decode()
    assert "Page not found" in body and "css/clinic.css" in body and "favicon.svg" in body
    assert client.get("/billing/invoices/").status_code == 403
    assert "You cannot open this page" in client.get("/billing/invoices/").content.decode()
