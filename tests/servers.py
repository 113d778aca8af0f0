"""Real servers the fault tests stop, kill, refuse or restart: a private Redis, a Celery
worker process, a TCP relay in front of PostgreSQL and an SMTP peer that hangs up."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import redis

from clinic.celery import app as celery_app

BASE_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HangingSmtpPeer:
    """A real SMTP peer on loopback that takes each message whole and, after the ones
    ``hang_up`` picks (by number, from 1), closes the connection instead of answering the
    end of DATA: a crash, or a network cut, at the worst moment. ``messages``: the bodies
    taken; ``received``: their To addresses."""

    def __init__(self, *, hang_up=lambda number: True) -> None:
        self.hang_up = hang_up
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.messages: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def received(self) -> list[str]:
        from email.parser import BytesParser
        from email.policy import default

        return [BytesParser(policy=default).parsebytes(body)["To"] for body in self.messages]

    def _serve(self) -> None:
        while True:
            try:
                peer, _address = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(peer,), daemon=True).start()

    def _session(self, peer: socket.socket) -> None:
        with peer, peer.makefile("rb") as lines:
            peer.sendall(b"220 test ready\r\n")
            while line := lines.readline():
                command = line[:4].upper()
                if command in (b"EHLO", b"HELO"):
                    peer.sendall(b"250 test\r\n")
                elif command == b"DATA":
                    peer.sendall(b"354 go ahead\r\n")
                    self.messages.append(b"".join(iter(lines.readline, b".\r\n")))
                    if self.hang_up(len(self.messages)):
                        return  # hang up without the final answer
                    peer.sendall(b"250 ok\r\n")
                elif command == b"QUIT":
                    peer.sendall(b"221 bye\r\n")
                    return
                else:
                    peer.sendall(b"250 ok\r\n")

    def close(self) -> None:
        self.server.close()


class RedisServer:
    """A private redis-server on loopback that the test can stop and start again."""

    def __init__(self, directory) -> None:
        self.port = free_port()
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 (our own fixed command line)
            [shutil.which("redis-server"), "--bind", "127.0.0.1", "--port", str(self.port),
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def queued(self, queue: str = "celery") -> int:
        return redis.Redis.from_url(self.url).llen(queue)


def forget_broker_connections() -> None:
    # Earlier tests may have opened pools on the session's Redis: start from the new URL.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


class CeleryWorker:
    """A Celery worker process that a test can SIGKILL and start again.

    Each start is a new process with the same environment and node name, as a supervisor
    restarting it would be.
    """

    def __init__(self, *, env: dict[str, str], queues: str = "celery", log: Path) -> None:
        self.env = env
        self.queues = queues
        self.name = f"faults-{uuid.uuid4().hex[:8]}@%h"
        self.log_path = log
        self.process: subprocess.Popen | None = None

    def start(self, *, timeout: float = 60) -> None:
        log = self.log_path.open("a")
        self.process = subprocess.Popen(  # noqa: S603 (our own fixed command line)
            [sys.executable, "-m", "celery", "-A", "clinic", "worker", "--pool=solo",
             "--without-mingle", "--without-gossip", "--loglevel=info",
             "-n", self.name, "-Q", self.queues],
            cwd=BASE_DIR,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + timeout
        while not celery_app.control.ping(timeout=0.5):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError(f"The Celery worker did not start: see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no acknowledgement, as when the machine loses the process."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


class DatabaseRelay:
    """A TCP relay in front of PostgreSQL that can be taken down and brought back.

    Down, it cuts every open connection and closes each new one at once, which the
    client sees as PostgreSQL going away and refusing to serve, as during a restart.
    """

    def __init__(self, *, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = threading.Event()
        self.refused = 0
        self.served = 0
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                self.refused += 1
                client.close()
                continue
            server = socket.create_connection(self.target)
            self.served += 1
            with self._lock:
                self._open += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def bring_up(self) -> None:
        self.up.set()

    def take_down(self) -> None:
        self.up.clear()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._open.clear()

    def close(self) -> None:
        self._closed = True
        self.take_down()
        self.listener.close()


class FreshDatabase:
    """A new, empty database on the test's PostgreSQL server, dropped afterwards.

    For processes that must not touch the pytest test database: a backup's source and
    restore target, the production stack.
    """

    def __init__(self, settings_dict: dict, *, label: str) -> None:
        self.server = {
            "host": settings_dict["HOST"],
            "port": settings_dict["PORT"],
            "user": settings_dict["USER"],
            "password": settings_dict["PASSWORD"] or None,
        }
        self.name = f"clinic_{label}_{uuid.uuid4().hex[:8]}"
        password = f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else ""
        self.url = (
            f"postgres://{settings_dict['USER']}{password}@{settings_dict['HOST']}:"
            f"{settings_dict['PORT']}/{self.name}"
        )

    def _admin(self):
        import psycopg

        return psycopg.connect(dbname="postgres", autocommit=True, **self.server)

    def connect(self):
        import psycopg

        return psycopg.connect(dbname=self.name, autocommit=True, **self.server)

    def create(self) -> "FreshDatabase":
        from psycopg import sql

        with self._admin() as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        return self

    def drop(self) -> None:
        from psycopg import sql

        with self._admin() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )

    def row_counts(self) -> dict[str, int]:
        """Every table's row count, read by the test itself (not by the code under test)."""
        from psycopg import sql

        with self.connect() as db:
            tables = db.execute(
                "SELECT schemaname, tablename FROM pg_tables "
                "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
            ).fetchall()
            return {
                f"{schema}.{table}": db.execute(
                    sql.SQL("SELECT count(*) FROM {}.{}").format(
                        sql.Identifier(schema), sql.Identifier(table)
                    )
                ).fetchone()[0]
                for schema, table in tables
            }


def subprocess_env(**overrides: str) -> dict[str, str]:
    """The test's environment without the test database or Redis, plus ``overrides``.

    A process started with it uses only what the test gives it: without REDIS_URL its
    Celery tasks run in-process instead of reaching the session's worker.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CLINIC_ENV", "MEDIA_ROOT", "STATIC_ROOT"}
    }
    return {**env, **overrides}


def manage(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    """``python manage.py ARGS`` in its own process."""
    return subprocess.run(  # noqa: S603 (our own manage.py)
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
