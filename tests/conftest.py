import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

# Playwright's sync API runs an event loop in the test thread; Django's ORM would
# otherwise refuse to run beside it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest
from celery._state import _set_task_join_will_block
from django.db import connection, connections
from django.utils import translation

from clinic.celery import app as celery_app

# Playwright's sync API leaves an asyncio loop running in the main thread. asgiref then
# keeps Django's connections per context instead of per thread, so the test database's
# serialized contents (stored on the connection object for serialized_rollback) are lost
# after the first browser test. Our tests are synchronous: keep connections per thread.
connections._connections = threading.local()


def _flush_past_truncate_triggers() -> None:
    """Let the flush after each ``transaction=True`` test empty the tables whose TRUNCATE
    triggers refuse it (issued documents, ledgers: billing 0004, members 0006).

    The triggers have no application-level bypass. The flush runs in one transaction and
    sets PostgreSQL's own ``session_replication_role = replica`` for it, which skips
    ordinary triggers and which only a superuser (the test database's owner here) may set;
    the clinic's production role cannot, so production keeps refusing TRUNCATE.
    """
    from django.db.backends.postgresql.operations import DatabaseOperations

    sql_flush = DatabaseOperations.sql_flush

    def sql_flush_as_replica(self, style, tables, **kwargs):
        statements = sql_flush(self, style, tables, **kwargs)
        return ["SET LOCAL session_replication_role = replica", *statements] if statements else []

    DatabaseOperations.sql_flush = sql_flush_as_replica


_flush_past_truncate_triggers()


def pytest_sessionstart(session) -> None:
    """Compile the translation catalogues first (``make test`` does too), so that a plain
    ``pytest`` sees the current translations: the .mo files are not committed."""
    from clinic.management.commands.compile_catalogues import compile_catalogues

    compile_catalogues()


BASE_DIR = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def media_root(tmp_path_factory) -> Path:
    """Stored files (PDFs, uploads) of the whole run, shared with the worker process."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _isolated(settings, media_root):
    """Fast hashing, a cache namespace of its own, and Celery tasks run in-process.

    Tests that need the real worker ask for the ``celery_worker`` fixture instead. The team
    dashboard counts afresh on every view, so a test sees what it just changed; the
    sharing of its figures is tested on its own (tests/careteam/test_team_dashboard.py).
    """
    settings.MEDIA_ROOT = media_root
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CLINIC_DASHBOARD_CACHE_SECONDS = 0
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    }
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = eager
    # A login outside a request (force_login) makes the person's language this thread's,
    # as the login signal does for the request it happens in: the next test starts in the
    # clinic's language whatever this one logged in as.
    translation.deactivate()


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        pytest.fail("REDIS_URL is not set: run the suite with `make test`, which starts Redis.")
    return url


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.fail("This test needs PostgreSQL: run the suite with `make test`.")
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class SMTPServer:
    """A real SMTP server on loopback that keeps every message it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[EmailMessage] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=_free_port())

    async def handle_DATA(self, server, session, envelope) -> str:
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"

    @property
    def url(self) -> str:
        return f"smtp://{self.controller.hostname}:{self.controller.port}"

    def wait_for(self, count: int, timeout: float = 60) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.messages


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_server():
    """Session-wide SMTP server; the ``mailbox`` fixture empties it for each test."""
    server = SMTPServer()
    server.controller.start()
    yield server
    server.controller.stop()


@pytest.fixture
def mailbox(smtp_server, settings) -> SMTPServer:
    """Mail sent in this test (by this process or the worker) lands in a real SMTP server."""
    smtp_server.messages.clear()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.controller.hostname
    settings.EMAIL_PORT = smtp_server.controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return smtp_server


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, redis_url, smtp_server, media_root):
    """A real Celery worker process on the throwaway Redis, using the test database.

    It sends mail to the session's SMTP server and stores files under ``media_root``.
    """
    with django_db_blocker.unblock():
        database_url = _database_url()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "EMAIL_URL": smtp_server.url,
        "MEDIA_ROOT": str(media_root),
    }
    log = (BASE_DIR / "var" / "test-worker.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "clinic",
            "worker",
            "--pool=solo",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=info",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while not celery_app.control.ping(timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"The Celery worker did not start: see {log.name}")
    yield process
    process.terminate()
    process.wait(timeout=30)
    log.close()


@pytest.fixture
def celery_worker(celery_worker_process):
    """Send tasks to the real worker for this test instead of running them in-process."""
    # Celery marks "a join would block" in a process-wide flag around every eager task
    # (``denied_join_result``) and restores the value it found on the way out. Eager tasks
    # running at once in two threads (the concurrency tests) can restore each other's
    # "True", after which every ``result.get()`` in this process fails with "Never call
    # result.get() within a task". No task runs in this process here: clear it.
    _set_task_join_will_block(False)
    celery_app.conf.task_always_eager = False
    yield celery_worker_process
    celery_app.conf.task_always_eager = True


@pytest.fixture
def private_broker(tmp_path):
    """A Redis of this test's own, that this process queues tasks to.

    A worker of this test then cannot be taken over by the session's worker, and what it
    leaves queued is thrown away with the Redis.
    """
    from tests.servers import RedisServer, forget_broker_connections

    server = RedisServer(tmp_path)
    server.start()
    old_url = celery_app.conf.broker_url
    celery_app.conf.broker_url = server.url
    celery_app.conf.task_always_eager = False
    forget_broker_connections()
    yield server
    celery_app.conf.broker_url = old_url
    forget_broker_connections()
    if server.process.poll() is None:
        server.stop()


@pytest.fixture
def killable_worker(django_db_blocker, private_broker, media_root):
    """Make Celery worker processes on the private broker that the test may SIGKILL.

    ``killable_worker(email_url=..., database_url=..., queues=...)`` returns a stopped
    worker; ``start()`` it, ``kill()`` it, ``start()`` it again. Redis gives a killed
    worker's unacknowledged task back after 3 seconds (CELERY_VISIBILITY_TIMEOUT).
    """
    from tests.servers import CeleryWorker

    with django_db_blocker.unblock():
        test_database_url = _database_url()
    workers = []

    def make(
        *, email_url: str = "consolemail://", database_url: str = "", queues: str = "celery"
    ) -> CeleryWorker:
        worker = CeleryWorker(
            env={
                "DATABASE_URL": database_url or test_database_url,
                "REDIS_URL": private_broker.url,
                "EMAIL_URL": email_url,
                "MEDIA_ROOT": str(media_root),
                "CELERY_VISIBILITY_TIMEOUT": "3",
                "CELERY_UNACKED_RESTORE_INTERVAL": "1",
            },
            queues=queues,
            log=BASE_DIR / "var" / f"test-worker-faults-{len(workers)}.log",
        )
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        worker.stop()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Playwright cannot download its own browsers here: drive Debian's chromium.
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }
