import factory

from careteam.models import Discipline, Practitioner
from clinic.roles import Role
from tests.factories import UserFactory


class PractitionerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Practitioner

    user = factory.SubFactory(UserFactory, roles=[Role.CLINICIAN])
    discipline = factory.LazyFunction(lambda: Discipline.objects.get(slug="physical-therapy"))
    registration_number = factory.Sequence(lambda n: f"REG-{n:05d}")
