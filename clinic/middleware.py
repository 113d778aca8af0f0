from collections.abc import Callable

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from clinic.roles import STAFF_ROLES, has_any_role


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
            and has_any_role(request.user, STAFF_ROLES)
            and not is_mfa_enabled(request.user)
        ):
            return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)
