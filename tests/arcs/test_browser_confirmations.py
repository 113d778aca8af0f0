"""A review that decides to close the arc, end to end in a browser at phone width: the
review is confirmed, the closing is chosen (nothing preselected) and confirmed on a page
that says what will happen, and the arc ends achieved. No script is needed for any step."""

import pytest
from playwright.sync_api import Browser, expect

from arcs.models import ArcReview, ArcStatus
from tests.arcs.factories import CareSetting
from tests.factories import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 360, "height": 740}


def _overflow(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_review_that_closes_the_arc_is_confirmed_twice_and_ends_it(
    live_server, browser: Browser, javascript
):
    care = CareSetting()
    context = browser.new_context(viewport=PHONE, java_script_enabled=javascript)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(care.clinician.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/arcs/{care.arc.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(care.arc.title)
    # The status is changed deliberately: nothing is chosen until the clinician chooses.
    expect(page.locator("select[name=to_status]")).to_have_value("")

    page.get_by_label("What the review found").fill("Walks to the market without pain.")
    page.get_by_label("Close the arc").check()
    page.get_by_role("button", name="Continue to confirm the review").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Record this review?")
    expect(page.get_by_test_id("consequences")).to_contain_text("close the arc")
    assert _overflow(page) <= 0
    assert not ArcReview.objects.exists()
    page.get_by_role("button", name="Yes, record the review").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Close the arc")
    page.get_by_label("New status").select_option(label="Achieved")
    page.get_by_label("Reason").fill("Endpoint reached at the review.")
    page.get_by_role("button", name="Continue to confirm the status").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Change the arc from Active to Achieved?"
    )
    consequences = page.get_by_test_id("consequences")
    expect(consequences).to_contain_text("The member's care page shows it as achieved")
    expect(consequences).to_contain_text("This cannot be undone.")
    assert _overflow(page) <= 0
    page.get_by_role("button", name="Yes, make the arc Achieved").click()

    expect(page.get_by_test_id("arc-status")).to_have_text("Achieved")
    expect(page.get_by_text("Status changed to Achieved.")).to_be_visible()
    care.arc.refresh_from_db()
    assert care.arc.status == ArcStatus.ACHIEVED
    assert ArcReview.objects.get().outcome == "close"
    context.close()
