import socket

from celery import shared_task
from django.utils import timezone

from clinic.models import WorkerHeartbeat


@shared_task
def record_worker_heartbeat() -> str:
    """Periodic: note that a worker is alive, for /healthz and the administrators."""
    hostname = socket.gethostname()
    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"seen_at": timezone.now()}
    )
    return hostname


@shared_task
def dispatch_task_outbox() -> int:
    """Periodic: queue the tasks that were kept in the database while the broker was down."""
    from clinic.outbox import outbox_dispatch

    return outbox_dispatch()
