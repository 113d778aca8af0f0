from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from clinic import demo


class Command(BaseCommand):
    help = "Create the fictional demo cooperative (safe to run again: it changes nothing)."

    def handle(self, *args, **options) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "seed_demo refuses to run in production mode (CLINIC_ENV=production)."
            )
        with transaction.atomic():
            demo.seed()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo cooperative ready. Every demo login's password: {demo.DEMO_PASSWORD}"
            )
        )
