"""The pages for people who are not members yet, the member's care summary and the anchor
contact's portal fit a 360 px phone without the page scrolling sideways, and pass
axe-core's automated accessibility rules."""

import json

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser

from billing.models import DirectCareContract
from members.models import OrientationSession
from tests.clinic.test_accessibility import axe_violations

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 360, "height": 740}


def _overflow(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


def _log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("demo-pass-2026")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def test_public_member_and_anchor_pages_fit_a_phone_and_pass_axe(live_server, browser: Browser):
    call_command("seed_demo")
    session = OrientationSession.objects.order_by("starts_at").first()
    contract = DirectCareContract.objects.filter(anchor__contacts__email="anchor@demo.coop")[0]
    base = live_server.url
    pages = {
        None: ["/", "/practise/", f"/orientation/{session.pk}/"],
        "member@demo.coop": ["/arcs/mine/", "/arcs/mine/summary/", "/membership/"],
        "anchor@demo.coop": [
            f"/billing/contract/{contract.pk}/",
            f"/billing/contract/{contract.pk}/people/",
            f"/billing/contracts/{contract.pk}/value/",
        ],
        "admin@demo.coop": [
            "/membership/orientation/",
            f"/membership/orientation/{session.pk}/",
            "/care/interest/",
        ],
    }
    # The CSP is bypassed only so that the checker can be injected into the page.
    context = browser.new_context(viewport=PHONE, bypass_csp=True)
    page = context.new_page()
    too_wide = {}
    violations = []
    for email, paths in pages.items():
        if email:
            _log_in(page, base, email)
        for path in paths:
            response = page.goto(f"{base}{path}")
            assert response.status == 200, path
            if (overflow := _overflow(page)) > 0:
                too_wide[f"{email} {path}"] = 360 + overflow
            violations += axe_violations(page)
        context.clear_cookies()
    context.close()
    assert too_wide == {}
    assert violations == [], json.dumps(violations, indent=1)
