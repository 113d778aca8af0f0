"""Settings are read once at start-up, so each case starts a fresh Python process."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import BASE_DIR

PROBE = """
import json, django
django.setup()
from django.conf import settings
from clinic.celery import app
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "name": str(settings.DATABASES["default"]["NAME"]),
    "eager": app.conf.task_always_eager,
    "broker": app.conf.broker_url,
    "cache": settings.CACHES["default"]["BACKEND"],
    "email": settings.EMAIL_BACKEND,
    "debug": settings.DEBUG,
    "hasher": settings.PASSWORD_HASHERS[0],
    "staff_mfa": settings.CLINIC_REQUIRE_STAFF_MFA,
    "currency": settings.CLINIC_CURRENCY,
    "time_zone": settings.TIME_ZONE,
    "conn_max_age": settings.DATABASES["default"]["CONN_MAX_AGE"],
    "conn_health_checks": settings.DATABASES["default"]["CONN_HEALTH_CHECKS"],
    "options": settings.DATABASES["default"].get("OPTIONS", {}),
}))
"""
STRONG_KEY = "k3y-" + "x9Q!" * 15


def run_python(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    dropped = {"DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    clean = {k: v for k, v in clean.items() if not k.startswith(("CLINIC_", "SECRET_KEY"))}
    clean["DJANGO_SETTINGS_MODULE"] = "clinic.settings"
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, *args],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def probe(env: dict[str, str]) -> dict:
    result = run_python(env, "-c", PROBE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_embedded_default_is_sqlite_eager_celery_and_console_email():
    config = probe({})
    assert config["engine"] == "django.db.backends.sqlite3"
    assert config["name"] == str(BASE_DIR / "var" / "clinic.sqlite3")
    assert config["eager"] is True
    assert config["cache"].endswith("LocMemCache")
    assert config["email"] == "django.core.mail.backends.console.EmailBackend"
    assert config["debug"] is True
    assert config["staff_mfa"] is False
    assert config["hasher"].endswith("Argon2PasswordHasher")


def test_database_and_redis_urls_switch_to_postgresql_and_a_real_broker():
    config = probe(
        {
            "DATABASE_URL": "postgres://u:p@db.internal:5432/clinic",
            "REDIS_URL": "redis://cache:6379/0",
        }
    )
    assert config["engine"] == "clinic.postgres"
    assert config["name"] == "clinic"
    assert config["eager"] is False
    assert config["broker"] == "redis://cache:6379/0"
    assert config["cache"].endswith("RedisCache")


def test_database_connections_persist_with_health_checks_by_default():
    config = probe({"DATABASE_URL": "postgres://u:p@db.internal:5432/clinic"})
    assert config["conn_max_age"] == 600
    assert config["conn_health_checks"] is True
    config = probe(
        {
            "DATABASE_URL": "postgres://u:p@db.internal:5432/clinic",
            "CONN_MAX_AGE": "0",
            "CONN_HEALTH_CHECKS": "false",
        }
    )
    assert config["conn_max_age"] == 0
    assert config["conn_health_checks"] is False


def test_postgresql_statements_are_prepared_unless_turned_off():
    url = {"DATABASE_URL": "postgres://u:p@db.internal:5432/clinic"}
    assert probe(url)["options"] == {"server_side_binding": True, "prepare_threshold": 5}
    assert probe({**url, "DATABASE_PREPARED_STATEMENTS": "false"})["options"] == {}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_kept_connection_the_database_dropped_is_replaced_when_a_request_starts():
    import psycopg
    from django.db import close_old_connections, connection

    from tests.conftest import _database_url

    assert connection.settings_dict["CONN_MAX_AGE"] > 0
    connection.ensure_connection()
    backend_pid = connection.connection.info.backend_pid
    with psycopg.connect(_database_url(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [backend_pid])
    # What Django runs on request_started; the health check then finds the dead link.
    close_old_connections()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != backend_pid


def test_clinic_identity_comes_from_the_environment():
    config = probe({"CLINIC_CURRENCY": "kes", "CLINIC_TIME_ZONE": "Africa/Nairobi"})
    assert config["currency"] == "KES"
    assert config["time_zone"] == "Africa/Nairobi"


def test_bad_values_are_refused_with_one_line():
    result = run_python({"CLINIC_TIME_ZONE": "Mars/Olympus"}, "-c", PROBE)
    assert result.returncode == 1
    assert result.stderr.strip() == "CLINIC_TIME_ZONE is not a known time zone: 'Mars/Olympus'."


def test_production_refuses_to_start_without_its_variables():
    result = run_python({"CLINIC_ENV": "production"}, "manage.py", "check")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "CLINIC_ENV=production refuses to start: set SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL."
    )
    result = run_python(
        {"CLINIC_ENV": "production", "SECRET_KEY": STRONG_KEY, "ALLOWED_HOSTS": "clinic.example"},
        "manage.py",
        "check",
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "CLINIC_ENV=production refuses to start: set DATABASE_URL."


def test_production_passes_the_deployment_checklist_without_warnings():
    env = {
        "CLINIC_ENV": "production",
        "SECRET_KEY": STRONG_KEY,
        "ALLOWED_HOSTS": "clinic.example",
        "DATABASE_URL": "postgres://u:p@db.internal:5432/clinic",
    }
    result = run_python(env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    config = probe(env)
    assert config["debug"] is False
    assert config["staff_mfa"] is True
    assert config["hasher"].endswith("Argon2PasswordHasher")
