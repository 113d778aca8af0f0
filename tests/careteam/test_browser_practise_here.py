import pytest
from playwright.sync_api import Page, expect

from careteam.models import ExpressionOfInterest, InterestStatus
from tests.arcs.factories import hub_practitioner
from tests.factories import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_practitioner_says_they_are_interested_and_the_hub_coordinator_answers(
    live_server, page: Page, mailoutbox
):
    hub = hub_practitioner().user
    base = live_server.url
    page.goto(f"{base}/")
    page.get_by_role("banner").get_by_role("link", name="Practise here").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Practise here")
    expect(page.get_by_role("region", name="The disciplines we work with")).to_contain_text(
        "Nursing"
    )
    page.get_by_label("Your name").fill("Noor Haddad")
    page.get_by_label("Email").fill("noor@example.org")
    page.get_by_label("Your discipline").select_option(label="Acupuncture")
    page.get_by_label("Your message").fill("Ten years in a community clinic.")
    # The honeypot is not there for a person.
    expect(page.get_by_label("Leave this empty")).to_be_hidden()
    page.get_by_role("button", name="Send my message").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Message received")

    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(hub.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Practitioners' expressions of interest").click()
    page.get_by_role("link", name="Noor Haddad").click()
    expect(page.get_by_role("main")).to_contain_text("Ten years in a community clinic.")
    page.get_by_role("textbox", name="Answer").fill("Thank you, Noor. Could we talk on Tuesday?")
    page.get_by_role("button", name="Send the answer").click()
    expect(page.get_by_role("status")).to_contain_text("Your answer is saved")
    expect(page.locator("#interest-status")).to_have_text("Answered")

    assert ExpressionOfInterest.objects.get().status == InterestStatus.ANSWERED
    assert [m.to for m in mailoutbox] == [["noor@example.org"]]
    assert "Could we talk on Tuesday?" in mailoutbox[0].body
