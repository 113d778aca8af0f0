"""Compile the translation catalogues (``.po`` to ``.mo``) with Babel, in pure Python.

Django's own ``compilemessages`` needs GNU gettext's ``msgfmt``; this does not, so a clinic
can install and run the software without gettext (only ``makemessages``, for people who add
or change texts, needs it). The ``.mo`` files are build products and are not committed:
``make run``, ``make test``, the Docker image and the test suite compile them.
"""

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def compile_catalogues(locale_dirs: list[Path] | None = None) -> list[Path]:
    """Write a ``.mo`` beside every ``.po`` under ``locale_dirs`` (the settings'
    LOCALE_PATHS) that is missing or older than its ``.po``. Returns the files written.

    Fuzzy entries are left out, as ``msgfmt`` does: a fuzzy translation is not shown.
    """
    written = []
    for locale_dir in locale_dirs or [Path(p) for p in settings.LOCALE_PATHS]:
        for po_path in sorted(Path(locale_dir).glob("*/LC_MESSAGES/*.po")):
            mo_path = po_path.with_suffix(".mo")
            if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                continue
            locale = po_path.parent.parent.name
            with po_path.open("rb") as handle:
                try:
                    catalog = read_po(handle, locale=locale, abort_invalid=True)
                except Exception as error:  # Babel raises its own PoFileError and others
                    raise CommandError(f"{po_path}: {error}") from error
            # Write beside, then rename: a server reading the old file never sees half of one.
            partial = mo_path.with_suffix(".mo.partial")
            with partial.open("wb") as handle:
                write_mo(handle, catalog, use_fuzzy=False)
            partial.replace(mo_path)
            written.append(mo_path)
    return written


class Command(BaseCommand):
    help = "Compile the translation catalogues (.po to .mo) with Babel; no gettext needed."

    def handle(self, *args, **options) -> None:
        for path in compile_catalogues():
            self.stdout.write(f"compiled {path}")
