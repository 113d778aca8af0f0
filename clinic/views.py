from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from clinic import health
from clinic.access import role_required
from clinic.roles import Role, home_role

HOME_URLS: dict[Role, str] = {
    Role.MEMBER: "members:my_membership",
    Role.CLINICIAN: "careteam:caseload",
    Role.HUB_COORDINATOR: "careteam:team_dashboard",
    Role.ADMINISTRATOR: "administration",
    Role.ANCHOR_CONTACT: "billing:contract",
}


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "clinic/landing.html")


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
