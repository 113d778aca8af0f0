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
