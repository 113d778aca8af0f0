"""Backup and restore: the demo cooperative comes back whole, row for row and file for file.

Every step runs ``manage.py`` in its own process, as ``make backup`` and ``make restore``
do. The test counts the rows and hashes the files itself, so a manifest that agreed with
a wrong restore would not pass.
"""

import hashlib
import io
import itertools
import json
import secrets
import sqlite3
import tarfile
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.servers import FreshDatabase, RedisServer, manage, subprocess_env

pytestmark = pytest.mark.faults

RENDER_PDFS = """
from billing.models import Invoice
from billing.services import invoice_render_pdf
for pk in Invoice.objects.order_by("pk").values_list("pk", flat=True)[:3]:
    invoice_render_pdf(invoice_id=pk)
"""

# Logs in with the demo password (its hash comes from the restored database) and opens
# My membership, as a browser would.
SERVE_MY_MEMBERSHIP = """
from django.test import Client
client = Client(HTTP_HOST="localhost")
response = client.post(
    "/accounts/login/", {"login": "member@demo.coop", "password": "demo-pass-2026"}
)
assert response.status_code == 302, response.status_code
response = client.get("/membership/")
print(response.status_code)
print(response.content.decode())
"""


def run(*args: str, env: dict[str, str]) -> str:
    result = manage(*args, env=env)
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


def media_checksums(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def manifest_of(archive: Path) -> dict:
    with tarfile.open(archive) as tar:
        return json.load(tar.extractfile("manifest.json"))


@pytest.fixture
def databases():
    made = []

    def make(label: str) -> FreshDatabase:
        database = FreshDatabase(connection.settings_dict, label=label).create()
        made.append(database)
        return database

    yield make
    for database in made:
        database.drop()


def test_the_demo_cooperative_is_restored_whole_and_serves_a_member(databases, tmp_path):
    if connection.vendor != "postgresql":
        pytest.fail("This test needs PostgreSQL: run the suite with `make test`.")
    source = databases("backup_source")
    source_media = tmp_path / "media-source"
    backups = tmp_path / "backups"
    # The demo's invoice run queues PDFs and emails for a worker; none runs here (rendering
    # them all would take minutes): the test renders three PDFs itself.
    broker = RedisServer(tmp_path)
    broker.start()
    source_env = subprocess_env(
        DATABASE_URL=source.url,
        MEDIA_ROOT=str(source_media),
        BACKUP_DIR=str(backups),
        REDIS_URL=broker.url,
    )
    try:
        run("migrate", "--noinput", env=source_env)
        run("seed_demo", env=source_env)
    finally:
        broker.stop()
    run("shell", "-c", RENDER_PDFS, env=source_env)
    upload = source_media / "governance" / "documents" / "minutes.pdf"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(secrets.token_bytes(50_000))
    source_counts = source.row_counts()
    source_files = media_checksums(source_media)
    assert len(source_files) == 4
    assert source_counts["public.billing_invoice"] > 0
    with source.connect() as db:
        first_name, last_name = db.execute(
            "SELECT first_name, last_name FROM clinic_user WHERE email = 'member@demo.coop'"
        ).fetchone()

    # The clinic keeps working during the backup: sessions are written all along.
    writing = threading.Event()
    stop = threading.Event()

    def write_sessions() -> None:
        with source.connect() as db:
            for number in itertools.count():
                if stop.is_set():
                    return
                db.execute(
                    "INSERT INTO django_session (session_key, session_data, expire_date) "
                    "VALUES (%s, '', now() + interval '1 day')",
                    [f"during-backup-{number}"],
                )
                writing.set()
                time.sleep(0.005)

    writer = threading.Thread(target=write_sessions)
    writer.start()
    writing.wait(timeout=30)
    try:
        run("backup", env=source_env)
    finally:
        stop.set()
        writer.join(timeout=30)
    sessions = "public.django_session"
    sessions_after = source.row_counts()[sessions]

    (archive,) = backups.glob("clinic-*.tar.gz")
    assert archive.stat().st_mode & 0o077 == 0, "the archive is readable by others"
    manifest = manifest_of(archive)
    backed_up = manifest["database"]["tables"]
    # Sessions written before the snapshot are in it, those written after are not...
    assert source_counts[sessions] < backed_up[sessions] < sessions_after
    assert {**backed_up, sessions: 0} == {**source_counts, sessions: 0}
    assert {path: entry["sha256"] for path, entry in manifest["media"].items()} == source_files

    target = databases("backup_target")
    target_media = tmp_path / "media-target"
    target_env = subprocess_env(DATABASE_URL=target.url, MEDIA_ROOT=str(target_media))
    output = run("restore", str(archive), env=target_env)
    assert "row count of every table" in output
    assert "SHA-256 of every media file" in output
    # ...and the dump holds exactly the rows the manifest counted.
    assert target.row_counts() == backed_up
    assert media_checksums(target_media) == source_files
    with target.connect() as db:
        stored_pdfs = [
            row[0] for row in db.execute("SELECT pdf FROM billing_invoice WHERE pdf <> ''")
        ]
    assert len(stored_pdfs) == 3
    assert all((target_media / path).is_file() for path in stored_pdfs)

    # The restored database keeps its append-only triggers.
    with target.connect() as db, pytest.raises(Exception, match="immutable"):
        db.execute("DELETE FROM billing_invoice")

    served = run("shell", "-v", "0", "-c", SERVE_MY_MEMBERSHIP, env=target_env)
    status, page = served.split("\n", 1)
    assert status == "200"
    assert f"{first_name} {last_name}" in page

    # A second restore into the now non-empty target is refused and changes nothing...
    after_login = target.row_counts()
    assert after_login[sessions] == backed_up[sessions] + 1
    refused = manage("restore", str(archive), env=target_env)
    assert refused.returncode != 0
    assert "is not empty" in refused.stderr
    assert "FORCE=1" in refused.stderr
    assert target.row_counts() == after_login

    # ...unless forced: it then empties the database and the media directory first.
    with target.connect() as db:
        db.execute("INSERT INTO clinic_workerheartbeat (hostname, seen_at) VALUES ('x', now())")
    (target_media / "stray.txt").write_text("not in the backup")
    run("restore", "--force", str(archive), env=target_env)
    assert target.row_counts() == backed_up
    assert media_checksums(target_media) == source_files


def sqlite_counts(path: Path) -> dict[str, int]:
    db = sqlite3.connect(path)
    try:
        names = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {
            name: db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]  # noqa: S608
            for name in names
        }
    finally:
        db.close()


@pytest.fixture(scope="module")
def sqlite_backup(tmp_path_factory) -> dict:
    """A backup of a migrated SQLite database (the embedded default) and one stored file."""
    directory = tmp_path_factory.mktemp("sqlite-backup")
    database = directory / "clinic.sqlite3"
    media = directory / "media"
    env = subprocess_env(
        DATABASE_URL=f"sqlite:///{database}",
        MEDIA_ROOT=str(media),
        BACKUP_DIR=str(directory / "backups"),
    )
    run("migrate", "--noinput", env=env)
    (media / "members" / "register").mkdir(parents=True)
    (media / "members" / "register" / "register.pdf").write_bytes(secrets.token_bytes(10_000))
    run("backup", env=env)
    (archive,) = (directory / "backups").glob("clinic-*.tar.gz")
    return {"env": env, "archive": archive, "database": database, "media": media}


def restore_env(sqlite_backup: dict, directory: Path) -> dict[str, str]:
    return {
        **sqlite_backup["env"],
        "DATABASE_URL": f"sqlite:///{directory / 'restored.sqlite3'}",
        "MEDIA_ROOT": str(directory / "media-restored"),
    }


def test_sqlite_round_trip(sqlite_backup, tmp_path):
    """The embedded default: a copy of the SQLite file made with SQLite's backup API."""
    source_counts = sqlite_counts(sqlite_backup["database"])
    assert source_counts["django_migrations"] > 0
    assert manifest_of(sqlite_backup["archive"])["database"]["engine"] == "sqlite"

    env = restore_env(sqlite_backup, tmp_path)
    run("restore", str(sqlite_backup["archive"]), env=env)
    assert sqlite_counts(tmp_path / "restored.sqlite3") == source_counts
    assert media_checksums(tmp_path / "media-restored") == media_checksums(sqlite_backup["media"])

    refused = manage("restore", str(sqlite_backup["archive"]), env=env)
    assert refused.returncode != 0
    assert "is not empty" in refused.stderr


def test_restore_refuses_a_media_directory_that_is_not_empty(sqlite_backup, tmp_path):
    env = restore_env(sqlite_backup, tmp_path)
    (tmp_path / "media-restored").mkdir()
    (tmp_path / "media-restored" / "invoice.pdf").write_bytes(b"%PDF-1.7 someone's invoice")

    refused = manage("restore", str(sqlite_backup["archive"]), env=env)
    assert refused.returncode != 0
    assert "media directory" in refused.stderr and "is not empty" in refused.stderr
    assert (tmp_path / "media-restored" / "invoice.pdf").read_bytes() == (
        b"%PDF-1.7 someone's invoice"
    )
    assert not sqlite_counts(tmp_path / "restored.sqlite3")


def test_a_damaged_archive_is_refused_before_anything_is_restored(sqlite_backup, tmp_path):
    # The archive again, with one byte of the database file changed.
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(sqlite_backup["archive"]) as source, tarfile.open(damaged, "w:gz") as copy:
        for member in source:
            data = source.extractfile(member).read()
            if member.name == "database.sqlite3":
                data = data[:-1] + bytes([data[-1] ^ 1])
            copy.addfile(member, io.BytesIO(data))

    refused = manage("restore", str(damaged), env=restore_env(sqlite_backup, tmp_path))
    assert refused.returncode != 0
    assert "does not match its checksum" in refused.stderr
    assert not sqlite_counts(tmp_path / "restored.sqlite3")
    assert not (tmp_path / "media-restored").exists()


def test_pg_dump_older_than_the_server_or_missing_is_refused_naming_the_package():
    from clinic.backup import BackupError, postgresql_tool

    path, major = postgresql_tool("pg_dump", at_least=1)
    assert Path(path).name == "pg_dump" and major >= 1
    with pytest.raises(BackupError, match=rf"pg_dump {major} .* install postgresql-client-99"):
        postgresql_tool("pg_dump", at_least=99)
    with pytest.raises(BackupError, match=r"pg_dumpx is not installed: .*postgresql-client"):
        postgresql_tool("pg_dumpx", at_least=15)
