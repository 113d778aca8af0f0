"""Recent authentication for tests of actions that ask for the password again."""

from django.urls import reverse

from tests.factories import PASSWORD


def reauthenticate(client) -> None:
    """Enter the password on allauth's re-authentication page, as a person would."""
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
