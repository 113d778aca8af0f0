"""Every role's main pages pass axe-core's automated accessibility rules.

axe-core comes from the npm registry with the other front-end packages. The browser
context bypasses the CSP only so the checker itself can be injected into the page.
"""

import json

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser

from tests.conftest import BASE_DIR

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

AXE = BASE_DIR / "node_modules" / "axe-core" / "axe.min.js"
ROLES = [
    "member@demo.coop",
    "clinician@demo.coop",
    "hub@demo.coop",
    "admin@demo.coop",
    "anchor@demo.coop",
]


def axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "page": page.url,
            "rule": v["id"],
            "impact": v["impact"],
            "nodes": [n["target"] for n in v["nodes"]][:3],
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_main_pages_of_every_role_have_no_serious_accessibility_violations(
    live_server, browser: Browser
):
    call_command("seed_demo")
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    violations = []
    page.goto(f"{live_server.url}/")
    violations += axe_violations(page)
    page.goto(f"{live_server.url}/accounts/login/")
    violations += axe_violations(page)
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
        for url in [page.url, *links]:
            page.goto(url)
            violations += axe_violations(page)
        context.clear_cookies()
    context.close()
    report = json.dumps(violations, indent=1)
    (BASE_DIR / "var" / "axe-report.json").write_text(report)
    assert violations == [], report
