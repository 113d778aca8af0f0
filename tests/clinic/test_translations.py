"""Every text is marked for translation, and every catalogue translates every text.

The texts are extracted with Django's ``makemessages`` (GNU xgettext) into a temporary
directory, exactly as a translator would get them, and compared with the committed
catalogues in clinic/locale. A template's visible text that is not inside ``translate`` or
``blocktranslate`` never reaches a catalogue, so the templates are read for it too.
"""

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.core.management import call_command

BASE_DIR = Path(__file__).resolve().parents[2]
LOCALE_DIR = BASE_DIR / "clinic" / "locale"
CATALOGUES = ["es", "pt_BR"]
# What makemessages skips: installed packages, the tests and the benchmark (not shown to
# anyone), and the vendored static files (no JavaScript of our own carries text).
IGNORE = ["node_modules", "tests", "bench", "static", "var"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdfr]|\{\w*\}|%[sd]")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> dict:
    """The texts in today's code: {(context, msgid): plural msgid or None}."""
    import os
    import shutil

    from django.test.utils import override_settings

    locale_dir = tmp_path_factory.mktemp("locale")
    # makemessages writes the texts of an app that has its own ``locale`` folder there,
    # whatever LOCALE_PATHS says: the clinic app's texts land in clinic/locale/en. Both
    # files are read, and that one is removed again.
    own_en = LOCALE_DIR / "en"
    assert not own_en.exists(), "clinic/locale/en is left over: remove it"
    cwd = Path.cwd()
    catalogs = []
    try:
        os.chdir(BASE_DIR)
        with override_settings(LOCALE_PATHS=[str(locale_dir)]):
            call_command(
                "makemessages", locale=["en"], ignore_patterns=IGNORE, verbosity=0, no_obsolete=True
            )
        for folder in (locale_dir / "en", own_en):
            with (folder / "LC_MESSAGES" / "django.po").open("rb") as handle:
                catalogs.append(read_po(handle))
    finally:
        os.chdir(cwd)
        shutil.rmtree(own_en, ignore_errors=True)
    texts = {}
    for catalog in catalogs:
        for message in catalog:
            if not message.id:
                continue
            key = message.id[0] if message.pluralizable else message.id
            texts[(message.context, key)] = message.id[1] if message.pluralizable else None
    assert len(texts) > 500, "makemessages found too few texts: is it reading the code?"
    return texts


def _problems(catalogue_path: Path, texts: dict) -> list[str]:
    with catalogue_path.open("rb") as handle:
        catalog = read_po(handle)
    problems = []
    for (context, msgid), plural in sorted(texts.items(), key=lambda item: item[0][1]):
        message = catalog.get(msgid, context=context)
        where = f"{msgid!r}" + (f" (context {context!r})" if context else "")
        if message is None:
            problems.append(f"missing: {where}")
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {where}")
        strings = list(message.string) if isinstance(message.string, tuple) else [message.string]
        if not all(strings) or (plural and len(strings) < 2):
            problems.append(f"untranslated: {where}")
            continue
        # A translation must use the same named placeholders, or rendering it fails or
        # drops a value.
        wanted = set(PLACEHOLDER.findall(msgid + (plural or "")))
        for string in strings:
            if set(PLACEHOLDER.findall(string)) - wanted or (
                not plural and set(PLACEHOLDER.findall(string)) != wanted
            ):
                problems.append(f"placeholders differ: {where} -> {string!r}")
    return problems


@pytest.mark.parametrize("language", CATALOGUES)
def test_catalogue_translates_every_text(language, extracted):
    path = LOCALE_DIR / language / "LC_MESSAGES" / "django.po"
    assert path.exists(), f"no catalogue for {language}: {path}"
    problems = _problems(path, extracted)
    assert not problems, f"{len(problems)} problems in {path}:\n" + "\n".join(problems[:200])


@pytest.mark.parametrize("language", CATALOGUES)
def test_catalogue_declares_its_plural_rule(language):
    """Django reads the plural rule from the catalogue's header: without it "1 members"."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / "django.po"
    with path.open("rb") as handle:
        header = read_po(handle).mime_headers
    assert "nplurals=2" in dict(header)["Plural-Forms"]


# --- Text in templates that is not marked for translation ---------------------------------

# Attributes a person reads or hears; every other attribute's value is code (class, href).
VISIBLE_ATTRIBUTES = {"alt", "title", "placeholder", "aria-label"}
_TRANSLATED_BLOCK = re.compile(
    r"{%-?\s*(blocktranslate|blocktrans)\b.*?{%-?\s*end(blocktranslate|blocktrans)\s*-?%}", re.S
)
_ATTRIBUTE = re.compile(r"""([\w:.@-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.S)


def _blank(text: str) -> str:
    """Spaces in place of ``text``, keeping its line breaks (and so the line numbers)."""
    return re.sub(r"[^\n]", " ", text)


def _visible_attribute_values(tag: str) -> str:
    out = list(_blank(tag))
    for attribute in _ATTRIBUTE.finditer(tag):
        if attribute.group(1).lower() in VISIBLE_ATTRIBUTES:
            group = 2 if attribute.group(2) is not None else 3
            start, end = attribute.span(group)
            out[start:end] = tag[start:end]
    return "".join(out)


def unmarked_text(source: str) -> list[tuple[int, str]]:
    """(line number, text) of the words a template shows that no translation tag covers."""
    text = _TRANSLATED_BLOCK.sub(lambda m: _blank(m.group(0)), source)
    for pattern in (
        r"{#.*?#}",
        r"{%-?\s*comment\b.*?{%-?\s*endcomment\s*-?%}",
        r"<(script|style)\b.*?</\1\s*>",
        r"<!--.*?-->",
    ):
        text = re.sub(pattern, lambda m: _blank(m.group(0)), text, flags=re.S | re.I)
    # Tags and variables first: a {% translate %} inside an attribute is marked text.
    text = re.sub(r"{%.*?%}|{{.*?}}", lambda m: _blank(m.group(0)), text, flags=re.S)
    text = re.sub(r"<[^<>]*>", lambda m: _visible_attribute_values(m.group(0)), text)
    text = re.sub(r"&[a-zA-Z]+;|&#x?[0-9a-fA-F]+;", " ", text)
    return [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), 1)
        if re.search(r"[^\W\d_]{2,}", line)  # two letters in a row: a word, not "x" or "·"
    ]


def test_the_scanner_finds_unmarked_text_and_ignores_marked_text():
    source = (
        '{% load i18n %}<p class="lead">{% translate "Hello" %}</p>\n'
        "<h1>Invoices</h1>\n"
        '<img alt="Logo" src="x.png">\n'
        "{% blocktranslate %}Dear {{ name }}{% endblocktranslate %} {{ user.email }}\n"
        '<a title="{% translate \'Open\' %}" href="/x">{# note #}</a> 12 · €\n'
    )
    assert unmarked_text(source) == [(2, "Invoices"), (3, "Logo")]


def test_every_template_text_is_marked_for_translation():
    found = [
        f"{path.relative_to(BASE_DIR)}:{number}: {text}"
        for path in sorted((BASE_DIR / "templates").rglob("*"))
        if path.suffix in {".html", ".txt", ".ics"}
        for number, text in unmarked_text(path.read_text())
    ]
    assert not found, "Text not marked for translation:\n" + "\n".join(found)


def test_texts_are_marked_with_names_makemessages_extracts():
    """xgettext finds ``_``, ``gettext``, ``gettext_lazy``, ``ngettext`` (and Django's other
    names), never an alias such as ``gettext_lazy as _lazy``: text marked that way is never
    extracted, so no catalogue could ever translate it."""
    extracted_names = {"_", "gettext", "gettext_lazy", "gettext_noop", "ngettext"}
    aliases = re.compile(r"from django\.utils\.translation import .*\b(\w*gettext\w*) as (\w+)")
    found = [
        f"{path.relative_to(BASE_DIR)}: {match.group(1)} as {match.group(2)}"
        for app in ("clinic", "members", "careteam", "arcs", "billing", "governance")
        for path in sorted((BASE_DIR / app).rglob("*.py"))
        if "migrations" not in path.parts
        for match in aliases.finditer(path.read_text())
        if match.group(2) not in extracted_names
    ]
    assert not found, "Translation functions imported under a name xgettext ignores:\n" + "\n".join(
        found
    )
