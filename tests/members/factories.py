import datetime
from decimal import Decimal

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from clinic.roles import Role
from members.models import (
    FeePeriod,
    FeePlan,
    Member,
    MemberStatus,
    PaymentMethod,
    ShareClass,
    ShareLedgerEntry,
    ShareLedgerKind,
)
from tests.factories import UserFactory


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    user = factory.SubFactory(UserFactory, roles=[Role.MEMBER])
    number = factory.Sequence(lambda n: n + 1)
    status = MemberStatus.ACTIVE
    # A fixed date well in the past: eligibility on a record date must not depend on chance.
    admitted_on = datetime.date(2024, 1, 1)
    address = factory.Faker("address")


class FeePlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeePlan
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Tier {n}")
    amount = Decimal("40.00")
    period = FeePeriod.MONTHLY


class ShareClassFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShareClass
        django_get_or_create = ["name"]

    name = "Member share"
    par_value = Decimal("50.00")
    minimum_holding = 1


class ApplicantFactory(factory.django.DjangoModelFactory):
    """Someone who applied through Join: no number, no role, no usable password yet."""

    class Meta:
        model = Member
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    number = None
    status = MemberStatus.APPLICANT
    date_of_birth = datetime.date(1988, 3, 4)
    address = factory.Faker("address")
    payment_method = PaymentMethod.FEE_PLAN
    requested_fee_plan = factory.SubFactory(FeePlanFactory)

    @factory.post_generation
    def unverified_email(obj, create, extracted, **kwargs):
        if create:
            obj.user.set_unusable_password()
            obj.user.save(update_fields=["password"])
            EmailAddress.objects.filter(user=obj.user).update(verified=False)


def holding(member: Member, share_class: ShareClass, quantity: int) -> ShareLedgerEntry:
    """Give a member shares as a subscription already in the ledger (test setup only)."""
    return ShareLedgerEntry.objects.create(
        member=member,
        share_class=share_class,
        kind=ShareLedgerKind.SUBSCRIPTION,
        quantity=quantity,
        currency=share_class.currency,
        entry_date=member.admitted_on or datetime.date.today(),
    )


class OrientationSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "members.OrientationSession"

    starts_at = factory.LazyFunction(
        lambda: (timezone.now() + datetime.timedelta(days=10)).replace(
            hour=17, minute=0, second=0, microsecond=0
        )
    )
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + datetime.timedelta(hours=2))
    place = "Community room, 1 Commons Lane"
    capacity = 12
