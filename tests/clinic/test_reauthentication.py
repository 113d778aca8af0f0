"""Actions that cannot be undone ask for the password again, even in a live session.

A session left open on a shared computer must not be enough to change the sign-in
details, issue invoices, publish a ballot's result or take the whole register away.
"""

from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.urls import reverse

from billing.models import CreditNote, Invoice
from clinic.roles import Role
from governance.models import Ballot, BallotStatus
from members.models import RegisterExport
from tests.billing.factories import EnrolmentFactory
from tests.billing.helpers import contract_invoice
from tests.factories import PASSWORD, user_with_role
from tests.governance.factories import motion
from tests.reauth import reauthenticate

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client):
    user = user_with_role(Role.ADMINISTRATOR)
    client.force_login(user)
    return user


def _asks_for_password(response, path: str) -> bool:
    return response.status_code == 302 and response.url.startswith(
        reverse("account_reauthenticate") + "?next=" + path.replace("/", "%2F")
    )


def test_changing_the_password_asks_for_the_current_password(client):
    """allauth's password change form is its own re-authentication: the session alone,
    without the current password, changes nothing."""
    user = user_with_role(Role.MEMBER)
    client.force_login(user)
    url = reverse("account_change_password")
    new = "a new long passphrase 42"
    response = client.post(url, {"oldpassword": "a guess", "password1": new, "password2": new})
    assert response.status_code == 200 and response.context["form"].errors["oldpassword"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)

    client.post(url, {"oldpassword": PASSWORD, "password1": new, "password2": new})
    user.refresh_from_db()
    assert user.check_password(new)


def test_adding_an_email_address_asks_for_the_password_again(client):
    user = user_with_role(Role.MEMBER)
    client.force_login(user)
    url = reverse("account_email")
    data = {"action_add": "", "email": "new-address@example.org"}
    assert _asks_for_password(client.post(url, data), url)
    assert not EmailAddress.objects.filter(email="new-address@example.org").exists()

    reauthenticate(client)
    client.post(url, data)
    assert EmailAddress.objects.filter(user=user, email="new-address@example.org").exists()


def test_setting_up_mfa_asks_for_the_password_again(client):
    client.force_login(user_with_role(Role.CLINICIAN))
    url = reverse("mfa_activate_totp")
    assert _asks_for_password(client.get(url), url)
    reauthenticate(client)
    assert client.get(url).status_code == 200


def test_starting_an_invoice_run_asks_for_the_password_again(
    admin, client, django_capture_on_commit_callbacks
):
    enrolment = EnrolmentFactory(contract__rate_per_member_month=Decimal("45.00"))
    preview = {"period": "2026-03", "contract": enrolment.contract.pk, "preview": "1"}
    # The preview needs no password: it issues nothing.
    with django_capture_on_commit_callbacks(execute=True):
        url = client.post(reverse("billing:run_invoicing"), preview).url
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert _asks_for_password(client.post(url, {"confirm": "1"}), url)
    assert not Invoice.objects.exists()

    reauthenticate(client)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"confirm": "1"})
    from billing.models import InvoiceRun

    assert response.url == reverse("billing:run_progress", args=[InvoiceRun.objects.get().pk])
    assert Invoice.objects.get().total == Decimal("45.00")


def test_issuing_a_credit_note_asks_for_the_password_again(admin, client):
    invoice = contract_invoice()
    url = reverse("billing:credit_note_create", args=[invoice.pk])
    data = {"amount": "100.00", "reason": "Contract signed late"}
    # The confirmation page is shown; only the issuing itself asks.
    assert client.post(url, data).status_code == 200
    data["confirm"] = "1"
    assert _asks_for_password(client.post(url, data), url)
    assert not CreditNote.objects.exists()

    reauthenticate(client)
    assert client.post(url, data).status_code == 302
    assert CreditNote.objects.get().invoice == invoice


def test_closing_a_ballot_asks_for_the_password_again(
    admin, client, django_capture_on_commit_callbacks
):
    ballot = motion()
    ballot_open = reverse("governance:ballot_open", args=[ballot.pk])
    client.post(ballot_open)
    url = reverse("governance:ballot_close", args=[ballot.pk])
    # The confirmation page is shown; only the closing itself asks.
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert _asks_for_password(client.post(url), url)
    assert Ballot.objects.get(pk=ballot.pk).status == BallotStatus.OPEN

    reauthenticate(client)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url)
    assert Ballot.objects.get(pk=ballot.pk).status == BallotStatus.CLOSED


def test_exporting_the_register_as_csv_asks_for_the_password_again(admin, client):
    url = reverse("members:register_csv")
    assert _asks_for_password(client.get(url), url)
    reauthenticate(client)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")


def test_requesting_the_register_pdf_asks_for_the_password_again(
    admin, client, django_capture_on_commit_callbacks
):
    url = reverse("members:register_exports")
    assert client.get(url).status_code == 200
    assert _asks_for_password(client.post(url), url)
    assert not RegisterExport.objects.exists()

    reauthenticate(client)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url).status_code == 302
    assert RegisterExport.objects.filter(requested_by=admin).exists()


def test_the_password_is_asked_of_the_person_signed_in_not_anyone(client):
    """Re-authentication checks the signed-in person's own password."""
    user = user_with_role(Role.ADMINISTRATOR)
    user.set_password("another passphrase entirely")
    user.save()
    client.force_login(user)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    url = reverse("members:register_csv")
    assert _asks_for_password(client.get(url), url)
    assert get_user_model().objects.filter(pk=user.pk).exists()
