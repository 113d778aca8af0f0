"""Backup and restore of the whole installation: the database and the stored media.

One archive (``clinic-YYYYmmdd-HHMMSS.tar.gz``) holds:

- ``database.dump``: ``pg_dump --format=custom`` of the PostgreSQL database, or
  ``database.sqlite3``: a copy of the embedded SQLite file made with SQLite's backup API;
- ``media/...``: every file under ``MEDIA_ROOT`` (invoice and notice PDFs, uploads);
- ``manifest.json``: the row count of every table, the SHA-256 of the database file and of
  every media file.

Used by ``manage.py backup`` and ``manage.py restore`` (``make backup``, ``make restore``).
"""

from __future__ import annotations

import glob
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import connection
from django.utils import timezone

MANIFEST = "manifest.json"
FORMAT = 1
DUMP_FILES = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
CHUNK = 1024 * 1024


class BackupError(Exception):
    """Something the person running the backup or restore must fix; the message says what."""


@dataclass
class RestoreReport:
    tables: int = 0
    rows: int = 0
    media_files: int = 0
    checked: list[str] = field(default_factory=list)


# --- Helpers ----------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class _HashingReader:
    """A file wrapper that hashes exactly the bytes ``tarfile`` reads into the archive."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data


def _engine() -> str:
    vendor = connection.vendor
    if vendor not in DUMP_FILES:
        raise BackupError(f"Backups support PostgreSQL and SQLite, not {vendor}.")
    return vendor


def _media_files(root: Path) -> Iterator[tuple[Path, str]]:
    """Regular files under ``root``, sorted, with their archive-relative POSIX names."""
    if not root.is_dir():
        return
    for directory, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(directory) / name
            if path.is_file() and not path.is_symlink():
                yield path, path.relative_to(root).as_posix()


def _safe_member_path(name: str) -> PurePosixPath:
    """An archive member's name as a relative path that cannot leave the target directory."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise BackupError(f"The archive holds an unsafe path: {name!r}.")
    return path


# --- PostgreSQL -------------------------------------------------------------------------

_LIBPQ_OPTIONS = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "passfile": "PGPASSFILE",
    "service": "PGSERVICE",
}


def _libpq_env() -> dict[str, str]:
    """The database's connection settings as libpq variables: no password on a command line."""
    db = connection.settings_dict
    env = {**os.environ}
    for key, variable in (
        ("HOST", "PGHOST"),
        ("PORT", "PGPORT"),
        ("USER", "PGUSER"),
        ("PASSWORD", "PGPASSWORD"),
        ("NAME", "PGDATABASE"),
    ):
        if db.get(key):
            env[variable] = str(db[key])
    for option, variable in _LIBPQ_OPTIONS.items():
        if db.get("OPTIONS", {}).get(option):
            env[variable] = str(db["OPTIONS"][option])
    return env


def _tool_major(path: str) -> int | None:
    result = subprocess.run(  # noqa: S603 (a PostgreSQL client found on disk)
        [path, "--version"], capture_output=True, text=True, check=False, timeout=30
    )
    match = re.search(r"\(PostgreSQL\) (\d+)", result.stdout)
    return int(match.group(1)) if match else None


def postgresql_tool(name: str, *, at_least: int) -> tuple[str, int]:
    """The newest ``pg_dump`` or ``pg_restore`` on PATH or in /usr/lib/postgresql/*/bin.

    pg_dump refuses to dump a server newer than itself, and pg_restore cannot read an
    archive written by a newer pg_dump: the newest one installed is the one that works.
    """
    candidates = {shutil.which(name), *glob.glob(f"/usr/lib/postgresql/*/bin/{name}")}
    found = [(major, path) for path in candidates if path and (major := _tool_major(path))]
    if not found:
        raise BackupError(
            f"{name} is not installed: install the PostgreSQL client "
            f"(Debian/Ubuntu: apt-get install postgresql-client-{at_least}), "
            f"version {at_least} or newer."
        )
    major, path = max(found)
    if major < at_least:
        raise BackupError(
            f"{name} {major} ({path}) is older than PostgreSQL {at_least}, which it must "
            f"read: install postgresql-client-{at_least} or newer."
        )
    return path, major


TABLES = ["r", "p"]
# Everything that makes a database not empty: tables, views, sequences, foreign tables.
RELATIONS = ["r", "p", "v", "m", "S", "f"]


def _pg_relations(cursor, kinds: list[str]) -> list[str]:
    """Schema-qualified, quoted names of the user relations of these ``relkind``s."""
    cursor.execute(
        """
        SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind::text = ANY(%s)
          AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\\_toast%%'
          AND n.nspname NOT LIKE 'pg\\_temp\\_%%'
        ORDER BY 1
        """,
        [kinds],
    )
    return [row[0] for row in cursor.fetchall()]


def _pg_counts(cursor) -> dict[str, int]:
    counts = {}
    for table in _pg_relations(cursor, TABLES):
        # The name comes from the catalogue, quoted by quote_ident above.
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608  # nosec B608
        counts[table] = cursor.fetchone()[0]
    return counts


def _pg_server_major(cursor) -> int:
    cursor.execute("SHOW server_version_num")
    return int(cursor.fetchone()[0]) // 10000


def _pg_new_connection():
    return connection.get_new_connection(connection.get_connection_params())


def _pg_backup(dump: Path) -> dict:
    import psycopg

    raw = _pg_new_connection()
    try:
        raw.autocommit = False
        raw.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        raw.read_only = True
        with raw.cursor() as cursor:
            server_major = _pg_server_major(cursor)
            tool, tool_major = postgresql_tool("pg_dump", at_least=server_major)
            # pg_dump reads the snapshot this transaction exported, and the row counts
            # below are taken in the same transaction: the manifest describes exactly the
            # rows in the dump, even while the clinic keeps working.
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            result = subprocess.run(  # noqa: S603 (fixed arguments, no shell)
                [tool, "--format=custom", "--no-password", f"--snapshot={snapshot}",
                 f"--file={dump}"],
                env=_libpq_env(), capture_output=True, text=True, check=False,
            )  # fmt: skip
            if result.returncode != 0:
                raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
            tables = _pg_counts(cursor)
        raw.rollback()
    finally:
        raw.close()
    return {"server_major": server_major, "pg_dump_major": tool_major, "tables": tables}


def _pg_database_clear() -> None:
    with connection.cursor() as cursor:
        if _pg_relations(cursor, RELATIONS):
            # Everything the clinic keeps is in the public schema (tables, sequences and
            # the append-only trigger functions); dropping it is the one statement that
            # removes them all, triggers included (DROP is not TRUNCATE).
            cursor.execute("DROP SCHEMA public CASCADE")
            cursor.execute("CREATE SCHEMA public")
    connection.close()


def _pg_restore(dump: Path, manifest: dict) -> dict[str, int]:
    tool, _major = postgresql_tool("pg_restore", at_least=manifest["database"]["pg_dump_major"])
    # pg_restore creates the tables, loads the rows with COPY, and only then creates the
    # indexes, constraints and triggers (its post-data section). The append-only triggers
    # refuse UPDATE, DELETE and TRUNCATE, never INSERT, and do not exist yet while the
    # rows are loaded: so no --disable-triggers (which needs a superuser) is needed.
    # --no-owner and --no-privileges: the objects belong to whoever restores (the role in
    # DATABASE_URL), as the roles of the original server may not exist here.
    result = subprocess.run(  # noqa: S603 (fixed arguments, no shell)
        [tool, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
         "--no-password", f"--dbname={connection.settings_dict['NAME']}", str(dump)],
        env=_libpq_env(), capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()}")
    with connection.cursor() as cursor:
        return _pg_counts(cursor)


# --- SQLite -----------------------------------------------------------------------------


def _sqlite_counts(db: sqlite3.Connection) -> dict[str, int]:
    names = [
        row[0]
        for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    counts = {}
    for name in names:
        quoted = '"' + name.replace('"', '""') + '"'
        # The name comes from sqlite_master, quoted as an identifier.
        query = f"SELECT count(*) FROM {quoted}"  # noqa: S608  # nosec B608
        counts[name] = db.execute(query).fetchone()[0]
    return counts


def _sqlite_path() -> Path:
    return Path(connection.settings_dict["NAME"])


def _sqlite_backup(copy: Path) -> dict:
    # SQLite's online backup API: a consistent copy even while the site is writing.
    source = sqlite3.connect(_sqlite_path())
    target = sqlite3.connect(copy)
    try:
        source.backup(target)
        tables = _sqlite_counts(target)
    finally:
        target.close()
        source.close()
    return {"tables": tables}


def _sqlite_tables() -> list[str]:
    path = _sqlite_path()
    if not path.exists() or path.stat().st_size == 0:
        return []
    db = sqlite3.connect(path)
    try:
        return list(_sqlite_counts(db))
    except sqlite3.DatabaseError as error:
        raise BackupError(
            f"{path} is not an SQLite database ({error}): restore elsewhere."
        ) from error
    finally:
        db.close()


def _sqlite_restore(copy: Path) -> dict[str, int]:
    connection.close()
    path = _sqlite_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(copy)
    target = sqlite3.connect(path)
    try:
        # Replaces the whole target database, page by page.
        source.backup(target)
        return _sqlite_counts(target)
    finally:
        target.close()
        source.close()


# --- Backup -----------------------------------------------------------------------------


def backup_create(*, directory: Path, log: Callable[[str], None] = lambda _line: None) -> Path:
    """Write one archive of the database and the media into ``directory``; return its path."""
    engine = _engine()
    directory.mkdir(parents=True, exist_ok=True)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    final = directory / f"clinic-{stamp}.tar.gz"
    partial = directory / f".{final.name}.partial"
    if final.exists():
        raise BackupError(f"{final} already exists: wait a second and run the backup again.")
    media_root = Path(settings.MEDIA_ROOT)
    with tempfile.TemporaryDirectory(dir=directory, prefix=".backup-") as work:
        dump = Path(work) / DUMP_FILES[engine]
        # The database first, then the media: the clinic stores a file before it commits
        # the row naming it, so the files the dump's rows name are on disk by now.
        database = _pg_backup(dump) if engine == "postgresql" else _sqlite_backup(dump)
        database.update(engine=engine, file=dump.name, sha256=_sha256_file(dump))
        log(f"Database: {len(database['tables'])} tables, {sum(database['tables'].values())} rows.")
        media: dict[str, dict] = {}
        # The archive holds health records: readable by its owner only.
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as raw, tarfile.open(fileobj=raw, mode="w|gz") as tar:
                tar.add(dump, arcname=dump.name)
                for path, name in _media_files(media_root):
                    info = tar.gettarinfo(path, arcname=f"media/{name}")
                    with path.open("rb") as handle:
                        reader = _HashingReader(handle)
                        tar.addfile(info, reader)
                    media[name] = {"sha256": reader.digest.hexdigest(), "size": info.size}
                manifest = {
                    "format": FORMAT,
                    "created_at": timezone.now().isoformat(),
                    "clinic_name": settings.CLINIC_NAME,
                    "database": database,
                    "media": media,
                }
                data = json.dumps(manifest, indent=2, sort_keys=True).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size = len(data)
                info.mtime = int(time.time())
                info.mode = 0o600
                tar.addfile(info, io.BytesIO(data))
            # Only a complete archive gets its final name.
            os.replace(partial, final)
        finally:
            partial.unlink(missing_ok=True)
    log(f"Media: {len(media)} files from {media_root}.")
    return final


# --- Restore ----------------------------------------------------------------------------


def _unpack(archive: Path, staging: Path) -> dict:
    """Unpack the archive into ``staging`` (regular files only) and return its manifest."""
    try:
        with tarfile.open(archive, mode="r|gz") as tar:
            for member in tar:
                name = _safe_member_path(member.name)
                if member.isdir():
                    continue
                if not member.isfile():
                    raise BackupError(f"The archive holds something not a file: {member.name!r}.")
                target = staging.joinpath(*name.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                with target.open("xb") as out:
                    shutil.copyfileobj(source, out, CHUNK)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise BackupError(f"{archive} is not a readable backup archive: {error}") from error
    manifest_path = staging / MANIFEST
    if not manifest_path.exists():
        raise BackupError(f"{archive} has no {MANIFEST}: it is incomplete or not a backup.")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{archive} is in format {manifest.get('format')}, not {FORMAT}.")
    return manifest


def _media_differences(root: Path, expected: dict[str, dict]) -> list[str]:
    found = {name: _sha256_file(path) for path, name in _media_files(root)}
    differences = [f"missing file {name}" for name in sorted(expected.keys() - found.keys())]
    differences += [f"unexpected file {name}" for name in sorted(found.keys() - expected.keys())]
    differences += [
        f"checksum of {name} differs"
        for name in sorted(expected.keys() & found.keys())
        if found[name] != expected[name]["sha256"]
    ]
    return differences


def _count_differences(found: dict[str, int], expected: dict[str, int]) -> list[str]:
    differences = [f"missing table {name}" for name in sorted(expected.keys() - found.keys())]
    differences += [f"unexpected table {name}" for name in sorted(found.keys() - expected.keys())]
    differences += [
        f"{name}: {found[name]} rows, the backup had {expected[name]}"
        for name in sorted(expected.keys() & found.keys())
        if found[name] != expected[name]
    ]
    return differences


def _fail_on(differences: list[str], what: str) -> None:
    if differences:
        shown = "; ".join(differences[:10])
        more = f" (and {len(differences) - 10} more)" if len(differences) > 10 else ""
        raise BackupError(f"{what}: {shown}{more}.")


def _database_contents(engine: str) -> list[str]:
    if engine == "postgresql":
        with connection.cursor() as cursor:
            return _pg_relations(cursor, RELATIONS)
    return _sqlite_tables()


def _media_contents(root: Path) -> list[Path]:
    return sorted(root.iterdir()) if root.is_dir() else []


def _refuse_unless_empty(engine: str, media_root: Path) -> None:
    tables = _database_contents(engine)
    if tables:
        raise BackupError(
            f"The database {str(connection.settings_dict['NAME'])!r} is not empty "
            f"({len(tables)} tables or sequences, e.g. {tables[0]}). Restore into an empty "
            "database, or pass --force (make restore FORCE=1) to delete everything in it first."
        )
    entries = _media_contents(media_root)
    if entries:
        raise BackupError(
            f"The media directory {media_root} is not empty (it holds {entries[0].name}). "
            "Restore into an empty directory, or pass --force (make restore FORCE=1) to "
            "delete everything in it first."
        )


def _media_clear(root: Path) -> None:
    for entry in _media_contents(root):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def restore_archive(
    *, archive: Path, force: bool = False, log: Callable[[str], None] = lambda _line: None
) -> RestoreReport:
    """Restore an archive into the configured database and ``MEDIA_ROOT``, then verify it.

    Refuses a database or media directory that is not empty unless ``force``, which deletes
    their contents first. Raises ``BackupError`` on any difference from the manifest.
    """
    engine = _engine()
    media_root = Path(settings.MEDIA_ROOT)
    if not force:
        _refuse_unless_empty(engine, media_root)

    report = RestoreReport()
    with tempfile.TemporaryDirectory(prefix="clinic-restore-") as work:
        staging = Path(work)
        # Unpacked and checked before anything in the target is deleted or written.
        manifest = _unpack(archive, staging)
        database = manifest["database"]
        if database["engine"] != engine:
            raise BackupError(
                f"{archive} is a backup of a {database['engine']} database; DATABASE_URL "
                f"points to {engine}."
            )
        dump = staging / database["file"]
        if not dump.exists() or _sha256_file(dump) != database["sha256"]:
            raise BackupError(f"The database file in {archive} does not match its checksum.")
        report.checked.append(f"the SHA-256 of the database file ({database['file']})")
        _fail_on(
            _media_differences(staging / "media", manifest["media"]),
            f"The media in {archive} do not match its manifest",
        )

        if engine == "postgresql":
            _pg_database_clear()
            counts = _pg_restore(dump, manifest)
        else:
            counts = _sqlite_restore(dump)
        log(f"Database restored into {connection.settings_dict['NAME']}.")

        _media_clear(media_root)
        media_root.mkdir(parents=True, exist_ok=True)
        for path, name in _media_files(staging / "media"):
            target = media_root.joinpath(*PurePosixPath(name).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, target)
        log(f"Media restored into {media_root}.")

    _fail_on(_count_differences(counts, database["tables"]), "Row counts differ after restoring")
    report.tables = len(counts)
    report.rows = sum(counts.values())
    report.checked.append(
        f"the row count of every table, counted in the restored database: "
        f"{report.tables} tables, {report.rows} rows"
    )
    _fail_on(_media_differences(media_root, manifest["media"]), "Media differ after restoring")
    report.media_files = len(manifest["media"])
    report.checked.append(
        f"the SHA-256 of every media file, read back from {media_root}: {report.media_files} files"
    )
    return report
