import pytest
from django.contrib.auth.models import Group

from clinic.roles import ROLE_PERMISSIONS, Role, has_role, home_role, sync_roles
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_every_role_is_a_group_with_its_permissions():
    for role, codenames in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role.value)
        assert set(group.permissions.values_list("codename", flat=True)) == set(codenames)


def test_syncing_roles_again_changes_nothing():
    from django.apps import apps

    before = list(Group.objects.values_list("name", "permissions__codename").order_by("name"))
    sync_roles(apps)
    after = list(Group.objects.values_list("name", "permissions__codename").order_by("name"))
    assert before == after


def test_has_role_answers_for_the_roles_held_only():
    user = UserFactory(roles=[Role.CLINICIAN])
    assert has_role(user, Role.CLINICIAN)
    assert not has_role(user, Role.ADMINISTRATOR)
    assert user.has_perm("clinic.change_clinical_records")
    assert not user.has_perm("clinic.manage_billing")


def test_a_person_with_several_roles_lands_on_the_first_in_home_order():
    user = UserFactory(roles=[Role.MEMBER, Role.ADMINISTRATOR])
    assert home_role(user) is Role.ADMINISTRATOR
