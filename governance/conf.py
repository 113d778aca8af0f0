"""Governance's settings, with their defaults, read in one place.

They are declared in ``clinic/settings.py`` (read from the environment); the defaults
here match. Every value is read at call time so tests can override it.
"""

from urllib.parse import urlsplit

from django.conf import settings


def ballot_batch_size() -> int:
    """Choices move from the waiting room to the ballot box in batches of at least this."""
    return int(getattr(settings, "CLINIC_BALLOT_BATCH_SIZE", 10))


def ballot_reminder_days() -> int:
    """Non-voters get one reminder this many days before the ballot closes."""
    return int(getattr(settings, "CLINIC_BALLOT_REMINDER_DAYS", 2))


def notice_recipients() -> str:
    """Who receives general meeting notices: "current" members (the default) or only
    those in "good_standing" (voting rights are a separate question)."""
    value = getattr(settings, "CLINIC_NOTICE_RECIPIENTS", "current")
    if value not in ("current", "good_standing"):
        raise ValueError(f"CLINIC_NOTICE_RECIPIENTS must be current or good_standing: {value!r}")
    return value


def site_url() -> str:
    """The installation's public address, for absolute links in email.

    Without ``CLINIC_SITE_URL``, the first concrete host name allowed (a wildcard or a
    leading-dot pattern names no host); set it in production.
    """
    url = getattr(settings, "CLINIC_SITE_URL", "")
    if not url:
        hosts = [h for h in settings.ALLOWED_HOSTS if h and "*" not in h and not h.startswith(".")]
        url = f"http://{hosts[0] if hosts else 'localhost'}"
    return url.rstrip("/")


def site_domain() -> str:
    """The installation's domain, for identifiers that must be unique to it (iCalendar UID)."""
    return urlsplit(site_url()).hostname or "localhost"


def absolute(path: str) -> str:
    return f"{site_url()}{path}"
