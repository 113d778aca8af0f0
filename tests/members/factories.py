import factory

from clinic.roles import Role
from members.models import Member, MemberStatus
from tests.factories import UserFactory


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    user = factory.SubFactory(UserFactory, roles=[Role.MEMBER])
    number = factory.Sequence(lambda n: n + 1)
    status = MemberStatus.ACTIVE
    admitted_on = factory.Faker("date_between", start_date="-2y", end_date="today")
