from django.conf import settings
from django.http import HttpRequest

from clinic.navigation import nav_links
from clinic.roles import Role, roles_of


def clinic(request: HttpRequest) -> dict:
    roles = roles_of(request.user) if hasattr(request, "user") else frozenset()
    return {
        "CLINIC_NAME": settings.CLINIC_NAME,
        "CLINIC_ADDRESS": settings.CLINIC_ADDRESS,
        "user_roles": {role.value for role in roles},
        "nav_links": nav_links(frozenset(roles)),
        "Role": Role,
    }
