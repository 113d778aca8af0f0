"""Absolute links to this installation, for email and calendar entries."""

from urllib.parse import urlsplit

from django.conf import settings


def site_url() -> str:
    """The installation's public address (``CLINIC_SITE_URL``).

    Without it, the first concrete host name allowed (a wildcard or a leading-dot pattern
    names no host) over plain http; production sets it.
    """
    url = settings.CLINIC_SITE_URL
    if not url:
        hosts = [h for h in settings.ALLOWED_HOSTS if h and "*" not in h and not h.startswith(".")]
        url = f"http://{hosts[0] if hosts else 'localhost'}"
    return url.rstrip("/")


def site_domain() -> str:
    """The installation's domain, for identifiers that must be unique to it (iCalendar UID)."""
    return urlsplit(site_url()).hostname or "localhost"


def absolute(path: str) -> str:
    return f"{site_url()}{path}"
