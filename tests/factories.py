"""Factories shared by every app's tests: people and their roles."""

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from clinic.roles import Role, grant_role

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        if create:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)

    @factory.post_generation
    def roles(obj, create, extracted, **kwargs):
        for role in extracted or ():
            grant_role(obj, role)


def user_with_role(role: Role, **kwargs):
    return UserFactory(roles=[role], **kwargs)
