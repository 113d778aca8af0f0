"""PostgreSQL restarts under a worker: the task is retried with backoff, not dropped."""

import time

import pytest
from django.db import connection
from django.utils import timezone

from billing import rules
from billing.models import Invoice
from billing.tasks import run_invoicing
from clinic.models import WorkerHeartbeat
from clinic.tasks import record_worker_heartbeat
from tests.billing.factories import FeePlanAssignmentFactory
from tests.servers import DatabaseRelay

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def wait_until(condition, *, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def database_relay():
    db = connection.settings_dict
    relay = DatabaseRelay(host=db["HOST"], port=int(db["PORT"]))
    relay.bring_up()
    yield relay
    relay.close()


def test_a_task_started_while_postgresql_restarts_is_retried_until_it_is_back(
    killable_worker, database_relay
):
    db = connection.settings_dict
    worker = killable_worker(
        database_url=f"postgres://{db['USER']}@127.0.0.1:{database_relay.port}/{db['NAME']}"
    )
    worker.start()
    # The worker holds a persistent connection (CONN_MAX_AGE) when the database goes away.
    record_worker_heartbeat.delay()
    wait_until(WorkerHeartbeat.objects.exists, what="the worker's first task")
    FeePlanAssignmentFactory.create_batch(3)
    period = rules.previous_month(timezone.localdate())

    database_relay.take_down()
    run_invoicing.delay(period.isoformat(), [], True)
    # The first attempt and at least one retry (after a backoff) are refused...
    wait_until(lambda: database_relay.refused >= 2, what="the task to be retried")
    assert not Invoice.objects.exists()
    # ...and once PostgreSQL is back, a retry does the work.
    database_relay.bring_up()
    wait_until(lambda: Invoice.objects.count() == 3, what="the retried run")
    time.sleep(1)
    assert Invoice.objects.count() == 3
