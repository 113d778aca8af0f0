import re

import pytest
from playwright.sync_api import Page, expect

from clinic.roles import Role
from tests.factories import PASSWORD, user_with_role
from tests.members.factories import FeePlanFactory, ShareClassFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def log_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_applicant_joins_is_approved_sets_a_password_and_sees_number_and_share(
    live_server, page: Page, mailoutbox
):
    FeePlanFactory(name="Sliding scale, tier 2")
    ShareClassFactory(name="Member share", minimum_holding=1)
    admin = user_with_role(Role.ADMINISTRATOR)
    base = live_server.url

    page.goto(f"{base}/")
    page.get_by_role("link", name="Join the cooperative").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Join the cooperative")
    page.get_by_label("First name").fill("Priya")
    page.get_by_label("Last name").fill("Fischer")
    page.get_by_role("textbox", name="Email").fill("priya@example.org")
    page.get_by_label("Date of birth").fill("1987-09-12")
    page.get_by_label("Address").fill("12 Harbour Row, Riverside")
    page.get_by_label("Preferred language").select_option("en")
    page.get_by_label("I will pay a membership fee").check()
    page.get_by_label("Fee plan").select_option(label="Sliding scale, tier 2 (40.00 EUR / Monthly)")
    page.get_by_label("I agree to the cooperative's rules").check()
    page.get_by_role("button", name="Send my application").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Application received")
    assert mailoutbox == []

    log_in(page, base, admin.email, PASSWORD)
    page.get_by_role("link", name="Applications").first.click()
    page.get_by_role("link", name="Priya Fischer").click()
    page.get_by_role("button", name="Approve application").click()
    expect(page.get_by_role("status")).to_contain_text("admitted as member number 1")
    page.get_by_role("button", name="Log out").click()

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["priya@example.org"]
    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+", mailoutbox[0].body).group(0)
    page.goto(link)
    new_password = "Harbour-row-passphrase-12"
    page.get_by_label("New Password*", exact=True).fill(new_password)
    page.get_by_label("New Password (again)*", exact=True).fill(new_password)
    page.get_by_role("button", name="Change Password").click()

    log_in(page, base, "priya@example.org", new_password)
    expect(page.get_by_role("heading", level=1)).to_have_text("My membership")
    membership = page.locator("main")
    expect(membership).to_contain_text("Member number")
    expect(membership.locator("dd").nth(1)).to_have_text("1")
    shares = page.get_by_role("region", name="My shares")
    expect(shares.get_by_role("row", name=re.compile("Member share"))).to_contain_text("1")
    expect(shares.get_by_role("button", name="Get my certificate")).to_be_visible()
