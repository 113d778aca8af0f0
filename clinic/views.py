import sys

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from clinic import health
from clinic.access import role_required
from clinic.roles import Role, home_role
from members import selectors as members_selectors

HOME_URLS: dict[Role, str] = {
    Role.MEMBER: "members:my_membership",
    Role.CLINICIAN: "careteam:caseload",
    Role.HUB_COORDINATOR: "careteam:team_dashboard",
    Role.ADMINISTRATOR: "administration",
    Role.ANCHOR_CONTACT: "billing:contract",
}


def landing(request: HttpRequest) -> HttpResponse:
    """The clinic's front door: what it is, what joining costs, and the ways to take part."""
    return render(
        request,
        "clinic/landing.html",
        {
            **members_selectors.membership_costs(),
            "orientation_sessions": members_selectors.upcoming_orientation_sessions(),
        },
    )


def build_one(request: HttpRequest) -> HttpResponse:
    """For people who want a cooperative clinic in their own community."""
    return render(request, "clinic/build_one.html", {"source_url": settings.CLINIC_SOURCE_URL})


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Where everyone lands after logging in: their role's own home page."""
    role = home_role(request.user)
    if role is None:
        return render(request, "clinic/no_role.html")
    return redirect(HOME_URLS[role])


@role_required(Role.ADMINISTRATOR)
def administration(request: HttpRequest) -> HttpResponse:
    return render(request, "clinic/administration.html")


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": health.database_status(), "broker": health.broker_status()}
    healthy = all(value in (health.OK, health.NOT_CONFIGURED) for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503
    )


# Errors that mean the database cannot be reached (down, restarting, refusing connections),
# as opposed to a bug: the person is told to come back, with a 503 a proxy can act on.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a plain page that needs no database, and 503 when the database is down."""
    error = sys.exc_info()[1]
    unavailable = isinstance(error, DATABASE_UNAVAILABLE)
    template = loader.get_template("503.html" if unavailable else "500.html")
    # No context processors: they may query the database that just failed.
    response = HttpResponse(
        template.render({"CLINIC_NAME": settings.CLINIC_NAME}), status=503 if unavailable else 500
    )
    if unavailable:
        response["Retry-After"] = "30"
    return response
