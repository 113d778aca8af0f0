import pytest
from playwright.sync_api import Page, expect

from members.models import OrientationRegistration
from tests.members.factories import OrientationSessionFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_visitor_registers_for_the_next_orientation_session_from_the_home(
    live_server, page: Page, mailoutbox
):
    session = OrientationSessionFactory(place="Community room", capacity=2)
    page.goto(f"{live_server.url}/")
    sessions = page.get_by_role("region", name="Orientation sessions")
    expect(sessions).to_contain_text("Community room")
    expect(sessions).to_contain_text("2 places left")
    sessions.get_by_role("link", name="Register").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Register for an orientation session")
    page.get_by_label("Your name").fill("Amara Osei")
    page.get_by_label("Email").fill("amara@example.org")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are registered")

    assert OrientationRegistration.objects.get(session=session).name == "Amara Osei"
    assert [m.to for m in mailoutbox] == [["amara@example.org"]]
    assert mailoutbox[0].attachments[0][0] == "orientation.ics"
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("region", name="Orientation sessions")).to_contain_text("1 place left")


def test_an_empty_registration_is_answered_with_field_errors(live_server, page: Page):
    session = OrientationSessionFactory()
    page.goto(f"{live_server.url}/orientation/{session.pk}/")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_text("This field is required.").first).to_be_visible()
    assert not OrientationRegistration.objects.exists()
