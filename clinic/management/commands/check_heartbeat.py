import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from clinic.models import WorkerHeartbeat


class Command(BaseCommand):
    help = "Exit non-zero unless beat scheduled, and a worker ran, the heartbeat recently."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--max-age", type=int, default=300, help="seconds (default 300)")

    def handle(self, *args, max_age: int, **options) -> None:
        since = timezone.now() - datetime.timedelta(seconds=max_age)
        latest = WorkerHeartbeat.objects.filter(seen_at__gte=since).order_by("-seen_at").first()
        if latest is None:
            raise CommandError(f"No worker heartbeat in the last {max_age} seconds.")
        self.stdout.write(f"Heartbeat from {latest.hostname} at {latest.seen_at.isoformat()}")
