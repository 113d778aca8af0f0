"""Redis stops while people work: pages render, work waits in the outbox, nothing is lost."""

import pytest
from django.urls import reverse

from clinic.celery import app as celery_app
from clinic.models import TaskOutbox
from clinic.outbox import outbox_dispatch
from clinic.roles import Role
from members.models import RegisterExport
from tests.factories import user_with_role
from tests.reauth import reauthenticate
from tests.servers import RedisServer, forget_broker_connections

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def private_redis(tmp_path, settings):
    server = RedisServer(tmp_path)
    server.start()
    settings.REDIS_URL = server.url
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": server.url}}
    old_url = celery_app.conf.broker_url
    celery_app.conf.broker_url = server.url
    celery_app.conf.task_always_eager = False
    forget_broker_connections()
    yield server
    celery_app.conf.broker_url = old_url
    forget_broker_connections()
    if server.process.poll() is None:
        server.stop()


def test_work_started_while_redis_is_down_waits_and_is_queued_when_it_returns(
    client, private_redis
):
    admin = user_with_role(Role.ADMINISTRATOR)
    client.force_login(admin)
    reauthenticate(client)
    private_redis.stop()

    assert client.get(reverse("administration")).status_code == 200
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["broker"].startswith("error")

    response = client.post(reverse("members:register_exports"), follow=True)
    assert response.status_code == 200
    export = RegisterExport.objects.get()
    waiting = TaskOutbox.objects.get()
    assert waiting.task_name == "members.tasks.render_register_pdf"
    assert waiting.args == [export.pk]
    # Still down: the sweep leaves it waiting and says why.
    assert outbox_dispatch() == 0
    waiting.refresh_from_db()
    assert waiting.dispatched_at is None and waiting.attempts == 1

    private_redis.start()
    assert client.get("/healthz").status_code == 200
    assert outbox_dispatch() == 1
    assert private_redis.queued() == 1
    waiting.refresh_from_db()
    assert waiting.dispatched_at is not None
    # A second sweep sends nothing again.
    assert outbox_dispatch() == 0
    assert private_redis.queued() == 1
