"""The public "Practise here" page and the expressions of interest it records, which the
hub coordinator and the administrators read and answer by email."""

import time

import pytest
from django.urls import reverse

from careteam import services
from careteam.models import Discipline, ExpressionOfInterest, InterestAnswer, InterestStatus
from clinic.delivery import DeliveryStatus
from clinic.roles import Role
from tests.arcs.factories import discipline, hub_practitioner
from tests.careteam.factories import PractitionerFactory
from tests.factories import user_with_role
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db


def interest_data(**overrides) -> dict:
    return {
        "name": "Noor Haddad",
        "email": "noor@example.org",
        "discipline": discipline("acupuncture").pk,
        "message": "Ten years of acupuncture in a community clinic; free from March.",
        "website": "",
        **overrides,
    }


def test_page_names_the_clinics_disciplines_and_the_arc_and_hub_model(client):
    Discipline.objects.create(slug="speech-therapy", name="Speech therapy")
    page = client.get(reverse("practise_here")).content.decode()
    listed = page.split('id="disciplines"')[1].split("</section>")[0]
    for name in Discipline.objects.values_list("name", flat=True):
        assert f"<li>{name}</li>" in listed
    assert "<li>Speech therapy</li>" in listed
    assert "arc of care" in page and "hub coordinator" in page


def test_home_header_and_footer_link_the_page(client):
    page = client.get(reverse("landing")).content.decode()
    header, rest = page.split("</header>")
    footer = rest.split("<footer")[1]
    assert reverse("practise_here") in header
    assert reverse("practise_here") in footer
    assert reverse("practise_here") in rest.split("<footer")[0]


def test_an_expression_of_interest_is_recorded_for_the_hub_and_the_office(client):
    response = client.post(reverse("practise_here"), interest_data())
    assert response["Location"] == reverse("practise_thanks")
    expression = ExpressionOfInterest.objects.get()
    assert (expression.name, expression.email, expression.discipline.slug) == (
        "Noor Haddad",
        "noor@example.org",
        "acupuncture",
    )
    assert expression.status == InterestStatus.NEW
    for user in (hub_practitioner().user, user_with_role(Role.ADMINISTRATOR)):
        client.force_login(user)
        listing = client.get(reverse("careteam:interest_list")).content.decode()
        assert "Noor Haddad" in listing and "Acupuncture" in listing
        detail = client.get(reverse("careteam:interest_detail", args=[expression.pk]))
        assert "free from March" in detail.content.decode()


def test_the_honeypot_drops_robots_without_telling_them(client):
    response = client.post(reverse("practise_here"), interest_data(website="http://spam.test"))
    assert response["Location"] == reverse("practise_thanks")
    assert not ExpressionOfInterest.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"email": "nope"}, "email"), ({"message": ""}, "message"), ({"name": ""}, "name")],
)
def test_bad_messages_get_field_errors_and_record_nothing(client, overrides, field):
    response = client.post(reverse("practise_here"), interest_data(**overrides))
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert not ExpressionOfInterest.objects.exists()


def test_expressions_of_interest_are_throttled_per_client_and_per_address(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "interest": "2/h/ip",
        "interest_address": "1/h/key",
    }
    url = reverse("practise_here")
    same_address = [
        client.post(url, interest_data(), REMOTE_ADDR=f"192.0.2.{n}").status_code for n in (1, 2)
    ]
    assert same_address == [302, 429]
    one_client = [
        client.post(
            url, interest_data(email=f"p{n}@example.org"), REMOTE_ADDR="198.51.100.9"
        ).status_code
        for n in range(3)
    ]
    assert one_client == [302, 302, 429]
    assert ExpressionOfInterest.objects.count() == 3


def test_answering_keeps_the_answer_and_emails_it_once(
    client, mailbox, django_capture_on_commit_callbacks
):
    expression = services.interest_submit(
        name="Noor Haddad", email="noor@example.org", discipline=None, message="Hello"
    )
    hub = hub_practitioner().user
    client.force_login(hub)
    url = reverse("careteam:interest_detail", args=[expression.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"text": "Thank you, Noor. Could we talk on Tuesday?"})
        # A second answer (another tab, a double click) is refused: one answer, one email.
        client.post(url, {"text": "Second answer"})
    expression.refresh_from_db()
    assert expression.status == InterestStatus.ANSWERED
    answer = InterestAnswer.objects.get()
    assert (answer.text, answer.answered_by, answer.status) == (
        "Thank you, Noor. Could we talk on Tuesday?",
        hub,
        DeliveryStatus.SENT,
    )
    (message,) = mailbox.wait_for(1)
    assert message["To"] == "noor@example.org"
    body = message.get_body(("plain",)).get_content()
    assert "Could we talk on Tuesday?" in body and "Hello" in body
    services.interest_answer_send(answer_id=answer.pk)
    time.sleep(0.3)
    assert len(mailbox.messages) == 1
    page = client.get(url).content.decode()
    # The second answer was refused, and its author is told why.
    assert "Could we talk on Tuesday?" in page and "is answered already" in page
    assert "Second answer" not in page


def test_an_empty_answer_is_a_field_error(client):
    expression = services.interest_submit(
        name="N", email="n@example.org", discipline=None, message="Hello"
    )
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    response = client.post(
        reverse("careteam:interest_detail", args=[expression.pk]), {"text": "  "}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["text"]
    assert not InterestAnswer.objects.exists()


def test_closing_ends_the_conversation_and_cannot_be_answered_after(client):
    expression = services.interest_submit(
        name="N", email="n@example.org", discipline=None, message="Hello"
    )
    admin = user_with_role(Role.ADMINISTRATOR)
    client.force_login(admin)
    client.post(reverse("careteam:interest_close", args=[expression.pk]))
    expression.refresh_from_db()
    assert (expression.status, expression.closed_by) == (InterestStatus.CLOSED, admin)
    response = client.post(
        reverse("careteam:interest_detail", args=[expression.pk]), {"text": "Late"}, follow=True
    )
    assert "already" in response.content.decode()
    assert not InterestAnswer.objects.exists()
    listing = client.get(reverse("careteam:interest_list"), {"status": "new"}).content.decode()
    assert "expressions of interest: new</h1>" in listing
    assert "No expression of interest here." in listing


def test_clinicians_members_and_anchor_contacts_cannot_read_them(client):
    expression = services.interest_submit(
        name="N", email="n@example.org", discipline=None, message="Hello"
    )
    for user in (
        PractitionerFactory().user,
        MemberFactory().user,
        user_with_role(Role.ANCHOR_CONTACT),
    ):
        client.force_login(user)
        assert client.get(reverse("careteam:interest_list")).status_code == 403
        detail = reverse("careteam:interest_detail", args=[expression.pk])
        assert client.get(detail).status_code == 403
