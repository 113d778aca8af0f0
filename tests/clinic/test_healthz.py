import shutil
import socket
import subprocess
import time

import pytest
import redis

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker_ok(client, settings, redis_url):
    settings.REDIS_URL = redis_url
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_healthz_without_a_broker_configured_is_healthy(client, settings):
    settings.REDIS_URL = ""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["broker"] == "not configured"


def test_healthz_is_unavailable_when_the_broker_is_unreachable(client, settings):
    # Port 9 (discard) on loopback: nothing listens there.
    settings.REDIS_URL = "redis://127.0.0.1:9/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] == "ok"
    assert body["broker"].startswith("error")


@pytest.fixture
def private_redis_url(tmp_path):
    """A redis-server of the test's own, so its connection counter sees only this test."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(  # noqa: S603 (our own fixed command line)
        [shutil.which("redis-server"), "--bind", "127.0.0.1", "--port", str(port),
         "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    probe_client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            probe_client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


def _connections_received(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return client.info("stats")["total_connections_received"]
    finally:
        client.close()


def test_healthz_reuses_one_broker_connection_across_requests(client, settings, private_redis_url):
    settings.REDIS_URL = private_redis_url
    before = _connections_received(private_redis_url)
    for _ in range(5):
        response = client.get("/healthz")
        assert response.json()["broker"] == "ok"
    # The counter includes the INFO call's own connection, made after the requests.
    assert _connections_received(private_redis_url) - before == 2
