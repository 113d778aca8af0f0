"""A member's journey in each language finds no English text left on the way.

The demo is built in the language (``seed_demo --language``), the member logs in (their
remembered language is applied), and reads My membership, their care arc, the governance
page and the vote page. The same pages are then read in English, switched with the header's
switcher: every text of the catalogue that appears on an English page must be absent from
the page in the other language. Names, numbers and texts that read the same in both
languages (a "Total", "PDF") are not English left behind and are not counted.
"""

import re

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation
from playwright.sync_api import Page, expect

from governance import demo as governance_demo
from governance.models import Ballot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CATALOGUE = settings.BASE_DIR / "clinic" / "locale" / "es" / "LC_MESSAGES" / "django.po"


def english_texts(language: str) -> list[str]:
    """The catalogue's texts that read differently in ``language``, as plain words: texts
    with placeholders or markup are split into their literal pieces."""
    with CATALOGUE.open("rb") as handle:
        catalog = read_po(handle)
    texts = set()
    with translation.override(language):
        for message in catalog:
            if not message.id or message.pluralizable:
                continue
            if translation.gettext(message.id) == message.id:
                continue  # the same in both languages, or not translated at all
            for piece in re.split(r"%\(\w+\)[sd]|%%|<[^>]+>", message.id):
                piece = piece.strip(" .,:;()\u201c\u201d\"'\u00b7\u2014\u2013-")
                # Two words at least, or one long word: short words are shared too often
                # ("No", "Plan") to say anything about the language of a page.
                if len(piece.split()) >= 2 or len(piece) >= 8:
                    texts.add(piece)
    return sorted(texts, key=len, reverse=True)


def visible_text(page: Page) -> str:
    # The switcher lists every language by its own name ("English") on every page.
    page.evaluate("document.querySelector('.language-switcher')?.remove()")
    text = page.locator("body").inner_text()
    # The clinic's name and address are its settings, written once in one language.
    for setting in (settings.CLINIC_NAME, settings.CLINIC_ADDRESS):
        text = text.replace(setting, " ")
    return re.sub(r"\s+", " ", text)


def journey(page: Page, base: str, ballot: Ballot) -> dict[str, str]:
    texts = {}
    for name in ("members:my_membership", "arcs:my_care_arc", "governance:index"):
        page.goto(base + reverse(name))
        texts[name] = visible_text(page)
    page.goto(base + reverse("governance:ballot_vote", args=[ballot.pk]))
    texts["vote"] = visible_text(page)
    return texts


def found_in(text: str, pieces: list[str]) -> list[str]:
    return [p for p in pieces if re.search(rf"(?<!\w){re.escape(p)}(?!\w)", text)]


@pytest.mark.parametrize(
    ("language", "home_heading"), [("es", "Mi ficha de socio/a"), ("pt-br", None)]
)
def test_a_members_journey_has_no_english_left(live_server, page: Page, language, home_heading):
    call_command("seed_demo", language=language)
    with translation.override(language):
        ballot = Ballot.objects.get(title=str(governance_demo.OPEN_MOTION))
    page.goto(f"{live_server.url}{reverse('account_login')}")
    page.locator("#id_login").fill("member@demo.coop")
    page.locator("#id_password").fill("demo-pass-2026")
    page.locator("main form button[type=submit]").click()
    # The member's remembered language is applied at login.
    expect(page.locator("html")).to_have_attribute("lang", language)
    if home_heading:
        expect(page.get_by_role("heading", level=1)).to_have_text(home_heading)
    translated = journey(page, live_server.url, ballot)

    # The same pages in English, chosen with the header's switcher (no JavaScript needed).
    page.goto(live_server.url + reverse("members:my_membership"))
    page.locator("#language-select").select_option("en")
    page.locator(".language-switcher button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("My membership")
    english = journey(page, live_server.url, ballot)

    pieces = english_texts(language)
    assert pieces, f"nothing is translated into {language}: is its catalogue there?"
    for name, text in english.items():
        on_english_page = found_in(text, pieces)
        assert len(on_english_page) > 3, f"{name}: the English page shows no catalogue text"
        left = found_in(translated[name], on_english_page)
        assert not left, f"{name} in {language} still shows English: {left}"
