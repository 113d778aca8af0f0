"""The authentication backends: Django's and allauth's, reading the person logged in with
their roles and member record in one query on every request.

The person is read on each request, so a role granted or withdrawn, or an account
deactivated, counts from the next request, as with Django's own backends.
"""

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import OuterRef

from clinic.roles import Role, remember_roles


class _UserWithRoles:
    def get_user(self, user_id):
        User = get_user_model()
        users = User._default_manager.select_related("member")
        postgres = connection.vendor == "postgresql"
        if postgres:
            from django.contrib.postgres.expressions import ArraySubquery

            names = Group.objects.filter(user=OuterRef("pk")).values("name")
            users = users.annotate(clinic_role_names=ArraySubquery(names))
        try:
            user = users.get(pk=user_id)
        except User.DoesNotExist:
            return None
        if not self.user_can_authenticate(user):
            return None
        if postgres:
            remember_roles(user, [name for name in user.clinic_role_names if name in Role.values])
        return user


class ModelBackend(_UserWithRoles, DjangoModelBackend):
    pass


class AuthenticationBackend(_UserWithRoles, AllauthBackend):
    pass
