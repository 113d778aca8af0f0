"""Settings for the cooperative clinic, read from the environment (12-factor).

With no environment at all this is the embedded demo: SQLite under ``var/``, Celery
tasks run eagerly in-process, email to the console, DEBUG on. ``CLINIC_ENV=production``
turns on every safety setting and refuses to start without the values it cannot guess.
Every variable is documented in ``.env.example``.
"""

import secrets
import sys
import zoneinfo
from decimal import Decimal
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.conf.locale import LANG_INFO
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

CLINIC_ENV = env.str("CLINIC_ENV", default="development")
if CLINIC_ENV not in {"development", "production"}:
    sys.exit(f"CLINIC_ENV must be 'development' or 'production', not {CLINIC_ENV!r}.")
PRODUCTION = CLINIC_ENV == "production"

if PRODUCTION:
    _missing = [
        name
        for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL")
        if not env(name, default="")
    ]
    if _missing:
        # One line, no traceback: this is read by whoever deploys, not by a developer.
        sys.exit(f"CLINIC_ENV=production refuses to start: set {', '.join(_missing)}.")


def _dev_secret_key() -> str:
    """A secret generated once per checkout, so dev sessions survive a restart."""
    path = VAR_DIR / "dev-secret-key"
    if not path.exists():
        VAR_DIR.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="") or _dev_secret_key()
DEBUG = env.bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- The clinic's identity -------------------------------------------------------------

CLINIC_NAME = env.str("CLINIC_NAME", default="Riverside Cooperative Clinic")
CLINIC_ADDRESS = env.str("CLINIC_ADDRESS", default="1 Commons Lane, Riverside")
CLINIC_CURRENCY = env.str("CLINIC_CURRENCY", default="EUR").upper()
if len(CLINIC_CURRENCY) != 3 or not CLINIC_CURRENCY.isalpha():
    sys.exit(f"CLINIC_CURRENCY must be a three-letter ISO 4217 code, not {CLINIC_CURRENCY!r}.")
# The cooperative's rules, which applicants agree to when they join.
CLINIC_RULES_URL = env.str("CLINIC_RULES_URL", default="/rules/")

# The clinic's default language: pages for visitors who chose none, and mail and documents
# for people who chose none. Each person can pick another (the header's switcher).
LANGUAGE_CODE = env.str("CLINIC_LANGUAGE", default="en").lower().replace("_", "-")
# The languages with a complete catalogue in clinic/locale (README, "Languages"). The
# switcher shows each name in its own language too (Django's language info).
LANGUAGES = [
    ("en", _("English")),
    ("es", _("Spanish")),
    ("pt-br", _("Brazilian Portuguese")),
]
# A clinic may run in a language that has no catalogue yet: its pages then show the English
# texts with that locale's formats.
if LANGUAGE_CODE not in dict(LANGUAGES):
    _info = LANG_INFO.get(LANGUAGE_CODE) or LANG_INFO.get(LANGUAGE_CODE.split("-")[0])
    if not _info or "name" not in _info:
        sys.exit(f"CLINIC_LANGUAGE is not a language code Django knows: {LANGUAGE_CODE!r}.")
    LANGUAGES.append((LANGUAGE_CODE, _info["name"]))
TIME_ZONE = env.str("CLINIC_TIME_ZONE", default="Europe/Amsterdam")
if TIME_ZONE not in zoneinfo.available_timezones():
    sys.exit(f"CLINIC_TIME_ZONE is not a known time zone: {TIME_ZONE!r}.")
USE_I18N = True
# Dates in the active language's formats; clinic/formats overrides only a few (see there).
FORMAT_MODULE_PATH = ["clinic.formats"]
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "clinic" / "locale"]

# --- The cooperative's rules (from its statutes; every clinic sets its own) --------------

# A member with an invoice overdue by more than this many days is not in good standing.
CLINIC_GOOD_STANDING_GRACE_DAYS = env.int("CLINIC_GOOD_STANDING_GRACE_DAYS", default=30)
# Minimum days between sending the notice of a general meeting and the meeting.
CLINIC_NOTICE_PERIOD_DAYS = env.int("CLINIC_NOTICE_PERIOD_DAYS", default=14)
# How many other members one member may hold proxies for in one ballot.
CLINIC_PROXY_LIMIT = env.int("CLINIC_PROXY_LIMIT", default=2)
# General meeting notices are emailed in chunks of this many, one Celery task per chunk.
CLINIC_NOTICE_CHUNK_SIZE = env.int("CLINIC_NOTICE_CHUNK_SIZE", default=50)
# Ballot choices move from the waiting room to the ballot box in shuffled batches of at
# least this many (docs/ballot-secrecy.md): the smallest group a vote hides in while open.
CLINIC_BALLOT_BATCH_SIZE = env.int("CLINIC_BALLOT_BATCH_SIZE", default=10)
# Members who have not voted get one reminder this many days before a ballot closes.
CLINIC_BALLOT_REMINDER_DAYS = env.int("CLINIC_BALLOT_REMINDER_DAYS", default=2)
# Who receives general meeting notices: every current member, or only those in good standing.
CLINIC_NOTICE_RECIPIENTS = env.str("CLINIC_NOTICE_RECIPIENTS", default="current")
if CLINIC_NOTICE_RECIPIENTS not in {"current", "good_standing"}:
    sys.exit("CLINIC_NOTICE_RECIPIENTS must be 'current' or 'good_standing'.")
# The installation's public address, for absolute links in email (e.g. https://clinic.example.org).
# CLINIC_BASE_URL is read as another name for it.
CLINIC_SITE_URL = env.str("CLINIC_SITE_URL", default="") or env.str("CLINIC_BASE_URL", default="")
# Share of eligible voters that must take part, unless a ballot sets its own (0 to 1).
CLINIC_DEFAULT_QUORUM = Decimal(env.str("CLINIC_DEFAULT_QUORUM", default="0.10"))
# An arc with no note, measure or change for this many days is stalled.
CLINIC_STALLED_ARC_DAYS = env.int("CLINIC_STALLED_ARC_DAYS", default=30)
# The team dashboard's figures count across the whole clinic: computed at most once in
# this many seconds per filter and shared by everyone looking (0: every view recomputes).
CLINIC_DASHBOARD_CACHE_SECONDS = env.int("CLINIC_DASHBOARD_CACHE_SECONDS", default=60)
# Percentage of collected revenue contributed to the federation fund.
CLINIC_FEDERATION_PERCENT = Decimal(env.str("CLINIC_FEDERATION_PERCENT", default="2.00"))
# Days after the invoice date a member's fee invoice falls due.
CLINIC_MEMBER_PAYMENT_TERMS_DAYS = env.int("CLINIC_MEMBER_PAYMENT_TERMS_DAYS", default=14)
# Days overdue at which a payment reminder is sent, one per step.
CLINIC_REMINDER_STEPS_DAYS = [
    int(d) for d in env.list("CLINIC_REMINDER_STEPS_DAYS", default=["7", "30", "60"])
]
# Printed on invoices: how to pay.
CLINIC_PAYMENT_INSTRUCTIONS = env.str(
    "CLINIC_PAYMENT_INSTRUCTIONS",
    default="Please pay by bank transfer to IBAN NL00 COOP 0123 4567 89, "
    "quoting the invoice number.",
)
CLINIC_TAX_ID = env.str("CLINIC_TAX_ID", default="")
# Where this installation's source code is published. The licence (AGPL-3.0) gives every
# user of the site the right to it; the "Build one" page links to it.
CLINIC_SOURCE_URL = env.str("CLINIC_SOURCE_URL", default="")
# Largest CSV file an import accepts (member register, anchor rosters).
CLINIC_IMPORT_MAX_BYTES = env.int("CLINIC_IMPORT_MAX_BYTES", default=2_000_000)

# Clinicians, hub coordinators and administrators must enrol a second factor before any
# other page. On by default in production, off in the embedded demo.
CLINIC_REQUIRE_STAFF_MFA = env.bool("CLINIC_REQUIRE_STAFF_MFA", default=PRODUCTION)
# Sessions end after this many minutes without a request (staff / everyone else), and in
# any case this many hours after login.
CLINIC_STAFF_SESSION_IDLE_MINUTES = env.int("CLINIC_STAFF_SESSION_IDLE_MINUTES", default=30)
CLINIC_SESSION_IDLE_MINUTES = env.int("CLINIC_SESSION_IDLE_MINUTES", default=120)
CLINIC_SESSION_MAX_HOURS = env.int("CLINIC_SESSION_MAX_HOURS", default=12)

# --- Applications ----------------------------------------------------------------------

INSTALLED_APPS = [
    "clinic.apps.ClinicAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_celery_beat",
    "csp",
    "clinic",
    "members",
    "careteam",
    "arcs",
    "billing",
    "governance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "clinic.middleware.SessionPolicyMiddleware",
    # After authentication (it needs the user) and after LocaleMiddleware (it sees the
    # cookie that set_language or the login signal set on the response).
    "clinic.languages.RememberLanguageMiddleware",
    "clinic.middleware.StaffMFAEnrolmentMiddleware",
    "arcs.middleware.DeniedAccessLogMiddleware",
]

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"
AUTH_USER_MODEL = "clinic.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "clinic.context_processors.clinic",
            ],
        },
    },
]

# --- Data ------------------------------------------------------------------------------

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'clinic.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Persistent connections: opening one per request cost more than a whole cheap page
# (make bench: /healthz served at 0.13 of a plain view's rate). The health check, run when
# a request starts, replaces a connection the database dropped instead of failing on it.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=600))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", env.bool("CONN_HEALTH_CHECKS", default=True))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, told the parameter limit of server-side binding (clinic.postgres).
    DATABASES["default"]["ENGINE"] = "clinic.postgres"
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        # Parameters sent apart from the SQL, so psycopg prepares a statement once a
        # connection has run it five times, and PostgreSQL stops parsing and planning it on
        # every request (make bench, my care arc: database CPU from 3.1 to 1.3 ms a
        # request). Off behind a pooler in transaction mode, which cannot keep them.
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True, prepare_threshold=5
        )

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "clinic.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="clinic"),
        }
    }
    # Sessions read from the cache that every web process shares, written through to the
    # database (they outlive a Redis restart). Not with a per-process cache: a session
    # ended in one process would stay valid in another's copy.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ----------------------------------------------------------------------------

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
# Without a broker the demo still works: tasks run in-process, as they are queued.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A request that queues work while Redis is down must not hang: one quick retry, then the
# task goes to the database outbox (clinic.celery.OutboxTask).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# A task is acknowledged only after it ran (acks_late); Redis gives a message taken by a
# worker that died back to the queue once it has been unacknowledged this many seconds.
# It must be longer than the longest task plus its retry countdowns, or a task still
# running (or waiting for its retry) is delivered a second time (the tasks are idempotent,
# but the work is done twice). Tests shorten it to see a killed worker's task come back.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    # How often a worker looks for messages whose worker died (every interval, no throttle).
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": 1,
}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# How often beat has a worker record its heartbeat (`check_heartbeat` allows 300 seconds).
# Beat writes the schedule below into its tables when it starts, so this, not an edit in
# the admin, sets the interval.
CLINIC_HEARTBEAT_SECONDS = env.int("CLINIC_HEARTBEAT_SECONDS", default=60)
# Every periodic job of the clinic, in one place. DatabaseScheduler copies these into
# django-celery-beat's tables, where administrators can see and pause them.
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {
        "task": "clinic.tasks.record_worker_heartbeat",
        "schedule": float(CLINIC_HEARTBEAT_SECONDS),
    },
    "dispatch-task-outbox": {"task": "clinic.tasks.dispatch_task_outbox", "schedule": 60.0},
    "monthly-invoicing": {
        "task": "billing.tasks.run_monthly_invoicing",
        "schedule": crontab(minute=0, hour=6, day_of_month=1),
    },
    "daily-overdue-invoices": {
        "task": "billing.tasks.mark_overdue_and_remind",
        "schedule": crontab(minute=0, hour=7),
    },
    "open-and-close-due-ballots": {
        "task": "governance.tasks.open_and_close_due_ballots",
        "schedule": 60.0,
    },
    "flush-ballot-boxes": {"task": "governance.tasks.flush_ballot_boxes", "schedule": 300.0},
    "remind-ballot-non-voters": {
        "task": "governance.tasks.remind_ballot_non_voters",
        "schedule": crontab(minute=30),
    },
}

# --- Email -----------------------------------------------------------------------------

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="clinic@localhost")
# A mail server that accepts the connection and then says nothing must not hold a worker
# forever: the attempt fails after this many seconds and is retried with backoff.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Accounts --------------------------------------------------------------------------

# Django's and allauth's backends, reading the person's roles and member record with them.
AUTHENTICATION_BACKENDS = [
    "clinic.auth.ModelBackend",
    "clinic.auth.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "landing"
ACCOUNT_ADAPTER = "clinic.adapters.ClinicAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_SESSION_REMEMBER = None
# Changing the sign-in email or password asks for the password again (ASVS 5.0 level 2).
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_RATE_LIMITS = {
    "login_failed": env.str("CLINIC_LOGIN_RATE_LIMIT", default="5/5m/ip,5/5m/key"),
    # The public application form, per client and per email address.
    "join": env.str("CLINIC_JOIN_RATE_LIMIT", default="10/h/ip"),
    "join_address": env.str("CLINIC_JOIN_ADDRESS_RATE_LIMIT", default="3/h/key"),
    # The public orientation registration and the practitioners' expression of interest,
    # counted the same way: per client, and per address so neither fills a mailbox.
    "orientation": env.str("CLINIC_ORIENTATION_RATE_LIMIT", default="10/h/ip"),
    "orientation_address": env.str("CLINIC_ORIENTATION_ADDRESS_RATE_LIMIT", default="3/h/key"),
    "interest": env.str("CLINIC_INTEREST_RATE_LIMIT", default="5/h/ip"),
    "interest_address": env.str("CLINIC_INTEREST_ADDRESS_RATE_LIMIT", default="2/h/key"),
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_ADAPTER = "clinic.adapters.ClinicMFAAdapter"
# TOTP secrets are encrypted at rest with the first of these; older ones still decrypt.
CLINIC_MFA_ENCRYPTION_KEYS = env.list("CLINIC_MFA_ENCRYPTION_KEYS", default=[]) or [SECRET_KEY]
# Behind the reverse proxy production assumes: how many proxies append X-Forwarded-For,
# so login limits count each real client rather than the proxy's one address.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1 if PRODUCTION else 0)
MFA_TOTP_ISSUER = CLINIC_NAME

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Static files ----------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")
if not PRODUCTION:
    Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Installed from the npm registry by `make`, never committed.
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"),
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
# Where `manage.py backup` (make backup) writes its archives.
BACKUP_DIR = env.path("BACKUP_DIR", default=VAR_DIR / "backups")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Source maps (most of Bootstrap's bytes) are fetched only by browser developer tools:
# not compressing them halves the time `bin/collectstatic` takes.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (
    "jpg", "jpeg", "png", "gif", "webp", "zip", "gz", "tgz", "bz2", "tbz", "xz", "br", "swf",
    "flv", "woff", "woff2", "3gp", "3gpp", "asf", "avi", "m4v", "mov", "mp4", "mpeg", "mpg",
    "webm", "wmv", "map",
)  # fmt: skip

# --- Security --------------------------------------------------------------------------

# No inline script anywhere: every page's JavaScript comes from our own static files.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    if env.bool("SECURE_PROXY_SSL_HEADER", default=True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
