"""Settings for ``make bench``: the clinic's own settings, as in production where it
matters for speed (DEBUG off), plus a plain no-database view to compare pages against.

Celery tasks are neither run nor sent to Redis unless the bench asks (``bench.ops`` turns
eager mode on for the work it measures); email stays in memory.
"""

from clinic.settings import *  # noqa: F403

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "bench.urls"
CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = False
EMAIL_BACKEND = "bench.mail.SerializingEmailBackend"
# Argon2 costs ~50 ms a login; the bench logs in by session, never by password.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
