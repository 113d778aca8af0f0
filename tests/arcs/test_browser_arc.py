import datetime

import pytest
from playwright.sync_api import Page, expect

from tests.arcs.factories import CareSetting
from tests.factories import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def log_in(page: Page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_clinician_records_a_measure_and_notes_and_the_member_sees_them(live_server, page: Page):
    care = CareSetting()
    csp_errors = []
    page.on(
        "console",
        lambda message: (
            csp_errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    log_in(page, live_server, care.clinician.user.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("My caseload")
    page.get_by_role("link", name="Care team and arcs").click()
    page.get_by_role("link", name=care.arc.title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(care.arc.title)
    expect(page.locator("circle.chart-point")).to_have_count(0)
    # A marker on the window survives only if the forms update the page in place (htmx).
    page.evaluate("window.arcPageMarker = 'same page'")

    page.locator("#id_measure").select_option(label=f"{care.goal.measure}, 0 to 10")
    page.locator("#id_value").fill("4.5")
    page.locator("#id_measured_on").fill(datetime.date.today().isoformat())
    page.get_by_role("button", name="Record the measure").click()
    expect(page.get_by_text("Measure recorded.")).to_be_visible()
    expect(page.locator("circle.chart-point")).to_have_count(1)

    page.locator("#id_text").fill("Lovely progress on the stairs.")
    page.get_by_label("Shared with the member").check()
    page.get_by_role("button", name="Add the note").click()
    expect(page.get_by_text("Note added.")).to_be_visible()
    page.locator("#id_text").fill("Team only: check the medicines.")
    page.get_by_label("Internal to the care team").check()
    page.get_by_role("button", name="Add the note").click()
    expect(page.get_by_text("Team only: check the medicines.")).to_be_visible()
    expect(page.locator("#id_text")).to_have_value("")
    assert page.evaluate("window.arcPageMarker") == "same page"
    assert csp_errors == []
    page.reload()
    expect(page.locator("circle.chart-point")).to_have_count(1)
    expect(page.get_by_text("Lovely progress on the stairs.")).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    log_in(page, live_server, care.member.user.email)
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="My care arc"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My care arc")
    chart = page.get_by_role("img", name=f"Progress toward: {care.goal.description}")
    expect(chart).to_be_visible()
    expect(chart.locator("circle.chart-point")).to_have_count(1)
    expect(chart.locator("circle.chart-point")).to_have_attribute("data-value", "4.5")
    expect(page.get_by_text("Lovely progress on the stairs.")).to_be_visible()
    expect(page.get_by_text("Team only: check the medicines.")).to_have_count(0)


def test_without_javascript_the_arc_page_forms_still_post_and_redirect(live_server, browser):
    care = CareSetting()
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, live_server, care.clinician.user.email)
        page.goto(f"{live_server.url}/arcs/{care.arc.pk}/")
        page.locator("#id_measure").select_option(label=f"{care.goal.measure}, 0 to 10")
        page.locator("#id_value").fill("3")
        page.locator("#id_measured_on").fill(datetime.date.today().isoformat())
        page.get_by_role("button", name="Record the measure").click()
        expect(page.get_by_text("Measure recorded.")).to_be_visible()
        expect(page).to_have_url(f"{live_server.url}/arcs/{care.arc.pk}/")
        expect(page.locator("circle.chart-point")).to_have_count(1)
    finally:
        context.close()
