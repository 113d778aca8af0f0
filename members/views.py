from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from clinic.access import role_required
from clinic.roles import Role
from members import selectors


@role_required(Role.MEMBER)
def my_membership(request: HttpRequest) -> HttpResponse:
    member = selectors.member_for_user(request.user)
    return render(request, "members/my_membership.html", {"member": member})
