import time
from collections.abc import Callable

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _

from clinic.roles import STAFF_ROLES, has_any_role


def is_staff_person(user) -> bool:
    """Clinic staff, and superusers, who can reach everything through the Django admin."""
    return user.is_superuser or has_any_role(user, STAFF_ROLES)


class StaffMFAEnrolmentMiddleware:
    """When CLINIC_REQUIRE_STAFF_MFA is on, staff enrol a second factor before anything else.

    Only the pages needed to enrol (and to log out) stay reachable until they do.
    """

    allowed_prefixes = ("/accounts/", "/static/", "/healthz", "/i18n/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            settings.CLINIC_REQUIRE_STAFF_MFA
            and request.user.is_authenticated
            and not request.path.startswith(self.allowed_prefixes)
            and is_staff_person(request.user)
            and not is_mfa_enabled(request.user)
        ):
            return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)


class SessionPolicyMiddleware:
    """Ends idle and over-long sessions, and keeps logged-in pages out of every cache.

    Idle: CLINIC_STAFF_SESSION_IDLE_MINUTES for staff, CLINIC_SESSION_IDLE_MINUTES for
    everyone else; lifetime: CLINIC_SESSION_MAX_HOURS from login, whatever the activity.
    """

    STARTED = "clinic_session_started"
    SEEN = "clinic_session_seen"
    # Recording activity writes the session; once a minute is precise enough for timeouts.
    SEEN_RESOLUTION = 60

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            now = time.time()
            session = request.session
            started = session.setdefault(self.STARTED, now)
            seen = session.get(self.SEEN, now)
            idle_minutes = (
                settings.CLINIC_STAFF_SESSION_IDLE_MINUTES
                if is_staff_person(user)
                else settings.CLINIC_SESSION_IDLE_MINUTES
            )
            if (
                now - seen > idle_minutes * 60
                or now - started > settings.CLINIC_SESSION_MAX_HOURS * 3600
            ):
                logout(request)
                messages.info(request, _("Your session ended. Please log in again."))
                return redirect_to_login(request.get_full_path())
            if now - seen >= self.SEEN_RESOLUTION or self.SEEN not in session:
                session[self.SEEN] = now
        response = self.get_response(request)
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            # Health records, money and votes must not stay in a shared browser or proxy.
            patch_cache_control(response, no_store=True, private=True)
        return response
