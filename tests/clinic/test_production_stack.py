"""The production stack of docker-compose.yml, started as processes with the same scripts.

``bin/collectstatic`` and ``bin/migrate``, then ``bin/start-web`` (gunicorn),
``bin/start-worker`` and ``bin/start-beat`` with ``CLINIC_ENV=production``, against a fresh
database on the test's PostgreSQL and a Redis of the test's own. The test talks to gunicorn
over HTTP as the TLS-terminating proxy production expects would: ``X-Forwarded-Proto:
https`` and ``X-Forwarded-For`` on every request.
"""

import http.client
import re
import secrets
import signal
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.db import connection

from tests.factories import PASSWORD
from tests.servers import BASE_DIR, FreshDatabase, RedisServer, free_port, subprocess_env

pytestmark = pytest.mark.faults

CREATE_MEMBER = """
from tests.members.factories import MemberFactory
MemberFactory(user__email="ines@example.org", user__first_name="Ines", user__last_name="Okafor")
"""


class Proxy:
    """HTTP to gunicorn as the reverse proxy sends it; keeps cookies like a browser."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.set_cookies: dict[str, str] = {}

    def request(self, method: str, path: str, *, form: dict | None = None, https: bool = True):
        headers = {"Host": f"127.0.0.1:{self.port}", "X-Forwarded-For": "203.0.113.7"}
        if https:
            headers["X-Forwarded-Proto"] = "https"
            headers["Origin"] = headers["Referer"] = f"https://127.0.0.1:{self.port}"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        client = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            client.request(method, path, body=body, headers=headers)
            response = client.getresponse()
            content = response.read()
        finally:
            client.close()
        for raw in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(raw).items():
                self.cookies[name] = morsel.value
                self.set_cookies[name] = raw
        return response, content.decode(errors="replace")


def wait_until(condition, *, timeout: float, what: str, processes=()) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for name, process, log in processes:
            if process.poll() is not None:
                pytest.fail(f"{name} exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out waiting for {what}")
        time.sleep(0.2)


def run_script(script: str, *, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as output:
        return subprocess.Popen(  # noqa: S603 (our own scripts)
            [str(BASE_DIR / "bin" / script)],
            cwd=BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def finish(script: str, *, env: dict[str, str], log: Path, timeout: float = 240) -> None:
    process = run_script(script, env=env, log=log)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"bin/{script} did not finish in {timeout} s")
    assert process.returncode == 0, f"bin/{script} failed:\n{log.read_text()[-3000:]}"


def serving(port: int) -> bool:
    try:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        client.request("GET", "/healthz", headers={"X-Forwarded-Proto": "https"})
        client.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        client.close()


@pytest.fixture
def database():
    if connection.vendor != "postgresql":
        pytest.fail("This test needs PostgreSQL: run the suite with `make test`.")
    fresh = FreshDatabase(connection.settings_dict, label="production").create()
    yield fresh
    fresh.drop()


@pytest.fixture
def broker(tmp_path):
    # A Redis of its own: the session's worker, on the test database, must not take the
    # production stack's tasks.
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def processes():
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_the_production_stack_serves_a_member_and_runs_beat_jobs_then_stops_cleanly(
    database, broker, processes, tmp_path
):
    port = free_port()
    env = subprocess_env(
        CLINIC_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=database.url,
        REDIS_URL=broker.url,
        EMAIL_URL="consolemail://",
        STATIC_ROOT=str(tmp_path / "static"),
        MEDIA_ROOT=str(tmp_path / "media"),
        PORT=str(port),
        WEB_CONCURRENCY="2",
        WORKER_CONCURRENCY="1",
        CLINIC_HEARTBEAT_SECONDS="2",
    )
    # Collecting the static files takes the longest: run it beside the migrations.
    collect = run_script("collectstatic", env=env, log=tmp_path / "collectstatic.log")
    processes.append(collect)
    finish("migrate", env=env, log=tmp_path / "migrate.log")
    member_env = {key: value for key, value in env.items() if key != "CLINIC_ENV"}
    member = subprocess.run(  # noqa: S603 (our own manage.py)
        [sys.executable, "manage.py", "shell", "-c", CREATE_MEMBER],
        cwd=BASE_DIR,
        env=member_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert member.returncode == 0, member.stderr

    # Worker and beat need no static files: they start while collectstatic finishes.
    started_at = time.time()
    logs = {name: tmp_path / f"{name}.log" for name in ("start-web", "start-worker", "start-beat")}
    worker = run_script("start-worker", env=env, log=logs["start-worker"])
    beat = run_script("start-beat", env=env, log=logs["start-beat"])
    processes += [worker, beat]
    assert collect.wait(timeout=240) == 0, (tmp_path / "collectstatic.log").read_text()[-3000:]
    web = run_script("start-web", env=env, log=logs["start-web"])
    processes.append(web)
    watched = [
        (name, process, logs[name]) for name, process in zip(logs, (web, worker, beat), strict=True)
    ]
    wait_until(lambda: serving(port), timeout=60, what="gunicorn", processes=watched)

    proxy = Proxy(port)
    # Plain HTTP (no X-Forwarded-Proto: https) is sent to HTTPS.
    response, _ = proxy.request("GET", "/accounts/login/", https=False)
    assert response.status == 301
    assert response.headers["Location"] == f"https://127.0.0.1:{port}/accounts/login/"

    response, page = proxy.request("GET", "/accounts/login/")
    assert response.status == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response, _ = proxy.request(
        "POST",
        "/accounts/login/",
        form={"csrfmiddlewaretoken": token, "login": "ines@example.org", "password": PASSWORD},
    )
    assert response.status == 302, "the member could not log in"
    response, page = proxy.request("GET", "/membership/")
    assert response.status == 200
    assert "My membership" in page
    assert "Ines Okafor" in page

    # The security headers production promises (README, "Configuration").
    headers = response.headers
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert "no-store" in headers["Cache-Control"]
    session_cookie = proxy.set_cookies["sessionid"]
    assert "Secure" in session_cookie
    assert "HttpOnly" in session_cookie
    assert "SameSite=Lax" in session_cookie
    assert "Secure" in proxy.set_cookies["csrftoken"]

    # A collected static file, fingerprinted, served by whitenoise with a long cache life.
    stylesheet = re.search(r'href="(/static/[^"]+\.([0-9a-f]{12})\.css)"', page)
    assert stylesheet, "no fingerprinted stylesheet on the page"
    response, _ = proxy.request("GET", stylesheet.group(1))
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert "max-age=315360000" in response.headers["Cache-Control"]
    assert "immutable" in response.headers["Cache-Control"]

    # Beat queues the heartbeat every 2 seconds and the worker records it: it is seen twice.
    def heartbeat() -> float | None:
        with database.connect() as db:
            row = db.execute("SELECT max(seen_at) FROM clinic_workerheartbeat").fetchone()
        return row[0].timestamp() if row[0] else None

    wait_until(
        lambda: (heartbeat() or 0) > started_at,
        timeout=60,
        what="the worker to record beat's heartbeat",
        processes=watched,
    )
    first = heartbeat()
    wait_until(lambda: heartbeat() > first, timeout=30, what="a second heartbeat")

    # SIGTERM, as a supervisor (systemd, docker stop) sends: each stops gracefully. The
    # scripts exec, so the signal reaches gunicorn and Celery themselves, not a shell.
    for process in (web, worker, beat):
        process.send_signal(signal.SIGTERM)
    for name, process, log in watched:
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{name} did not stop within 30 s of SIGTERM:\n{log.read_text()[-2000:]}")
        assert code == 0, f"{name} exited with {code}:\n{log.read_text()[-2000:]}"

    # Beat saved when it last sent the heartbeat as it stopped (it saves every few minutes
    # otherwise): a restarted beat continues the schedule instead of starting it over.
    with database.connect() as db:
        last_run = db.execute(
            "SELECT last_run_at FROM django_celery_beat_periodictask WHERE name = %s",
            ["worker-heartbeat"],
        ).fetchone()[0]
    assert last_run is not None and last_run.timestamp() > started_at
