from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from clinic.access import role_required
from clinic.roles import Role


@role_required(Role.ANCHOR_CONTACT)
def contract(request: HttpRequest) -> HttpResponse:
    return render(request, "billing/contract.html")
