from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from clinic.access import role_required
from clinic.roles import Role


@role_required(Role.CLINICIAN, Role.HUB_COORDINATOR)
def caseload(request: HttpRequest) -> HttpResponse:
    return render(request, "careteam/caseload.html")


@role_required(Role.HUB_COORDINATOR)
def team_dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "careteam/team_dashboard.html")
