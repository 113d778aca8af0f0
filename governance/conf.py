"""Governance's settings, with their defaults, read in one place.

They are declared in ``clinic/settings.py`` (read from the environment); the defaults
here match. Every value is read at call time so tests can override it.
"""

from django.conf import settings

from clinic import links


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


# Links are the whole installation's concern: kept here under their old names.
site_url = links.site_url
site_domain = links.site_domain
absolute = links.absolute
