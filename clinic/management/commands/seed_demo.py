from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import translation

from clinic import demo


class Command(BaseCommand):
    help = "Create the fictional demo cooperative (safe to run again: it changes nothing)."

    @staticmethod
    def languages() -> list[str]:
        """The languages the demo can be built in: those with demo names and a catalogue."""
        return [code for code in demo.NAMES if code in dict(settings.LANGUAGES)]

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--language",
            choices=self.languages(),
            default=None,
            help="Build the demo with names and texts in this language (default: the "
            "clinic's, CLINIC_LANGUAGE). A demo is built in one language.",
        )

    def handle(self, *args, **options) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "seed_demo refuses to run in production mode (CLINIC_ENV=production)."
            )
        language = options["language"] or settings.LANGUAGE_CODE
        if options["language"] and language not in self.languages():
            raise CommandError(f"--language must be one of {', '.join(self.languages())}.")
        # The demo's texts are marked for translation: built inside the language, the
        # catalogues give them in that language.
        with translation.override(language), transaction.atomic():
            try:
                demo.seed()
            except demo.DemoLanguageError as error:
                raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo cooperative ready. Every demo login's password: {demo.DEMO_PASSWORD}"
            )
        )
