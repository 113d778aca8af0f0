import socket

import pytest

from clinic.models import WorkerHeartbeat
from clinic.tasks import record_worker_heartbeat

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_real_worker_runs_a_task_and_its_effect_is_in_postgresql(celery_worker):
    assert not WorkerHeartbeat.objects.exists()
    result = record_worker_heartbeat.delay()
    hostname = result.get(timeout=60)
    assert hostname == socket.gethostname()
    heartbeat = WorkerHeartbeat.objects.get()
    assert heartbeat.hostname == hostname
    # The task ran in the worker process, not in this one.
    assert result.state == "SUCCESS"


def test_check_heartbeat_fails_without_a_recent_heartbeat_and_passes_with_one():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="No worker heartbeat"):
        call_command("check_heartbeat")
    record_worker_heartbeat()
    call_command("check_heartbeat")
