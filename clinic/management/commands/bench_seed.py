import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from bench import seed


class Command(BaseCommand):
    help = "Build a synthetic clinic of a given size with bulk inserts, for `make bench`."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--size", type=int, default=10_000, help="number of members")

    def handle(self, *args, **options) -> None:
        if settings.PRODUCTION:
            raise CommandError("bench_seed refuses to run in production mode (CLINIC_ENV).")
        started = time.perf_counter()
        try:
            clinic = seed.build(size=options["size"], log=self.stdout.write)
        except ValueError as error:
            raise CommandError(str(error)) from error
        if connection.vendor == "postgresql":
            # Fresh planner statistics, as autovacuum would have made on a live database;
            # without them the first minutes after a bulk load plan like an empty one.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        self.stdout.write(
            self.style.SUCCESS(
                f"Bench clinic of {clinic.size} members built in "
                f"{time.perf_counter() - started:.1f} s. Password: {seed.BENCH_PASSWORD}"
            )
        )
