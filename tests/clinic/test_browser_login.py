import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DEMO_HOMES = [
    ("member@demo.coop", "My membership"),
    ("member2@demo.coop", "My membership"),
    ("clinician@demo.coop", "My caseload"),
    ("doctor@demo.coop", "My caseload"),
    ("hub@demo.coop", "Team dashboard"),
    ("admin@demo.coop", "Administration"),
    ("anchor@demo.coop", "Contract"),
]


def test_each_demo_role_logs_in_through_the_form_and_sees_its_home(live_server, page: Page):
    call_command("seed_demo")
    for email, heading in DEMO_HOMES:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill("demo-pass-2026")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(page.get_by_role("navigation", name="Main navigation")).to_contain_text(heading)
        page.get_by_role("button", name="Log out").click()
        nav = page.get_by_role("navigation", name="Main navigation")
        expect(nav.get_by_role("link", name="Log in")).to_be_visible()
