"""Every role's main pages fit a 360 px phone: nothing makes the page scroll sideways."""

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 360, "height": 740}
ROLES = [
    "member@demo.coop",
    "clinician@demo.coop",
    "hub@demo.coop",
    "admin@demo.coop",
    "anchor@demo.coop",
]
# Beyond the main navigation: the first record each list leads to.
DETAIL_LINKS = "main table a[href^='/'], main .list-group a[href^='/']"


def _overflow(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


def test_main_pages_of_every_role_fit_a_phone(live_server, browser: Browser):
    call_command("seed_demo")
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    too_wide = {}
    for email in ROLES:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill("demo-pass-2026")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        links = page.eval_on_selector_all(
            "nav[aria-label='Main navigation'] .navbar-nav.me-auto a.nav-link",
            "els => els.map(e => e.href)",
        )
        visited = set()
        for url in [page.url, *links]:
            page.goto(url)
            details = page.eval_on_selector_all(DETAIL_LINKS, "els => els.map(e => e.href)")
            details = [d for d in details if not d.endswith((".pdf", ".csv", ".json"))]
            for target in [url, *details[:1]]:
                if target in visited or "logout" in target:
                    continue
                visited.add(target)
                page.goto(target)
                if (overflow := _overflow(page)) > 0:
                    too_wide[f"{email} {page.url}"] = 360 + overflow
        context.clear_cookies()
    context.close()
    assert too_wide == {}
