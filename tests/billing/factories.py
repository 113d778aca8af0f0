import datetime
from decimal import Decimal

import factory

from billing.models import (
    AnchorKind,
    AnchorOrganization,
    ContractStatus,
    CoverEnrolment,
    DirectCareContract,
)
from members.models import FeePeriod, FeePlan, FeePlanAssignment
from tests.members.factories import MemberFactory


class AnchorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AnchorOrganization

    name = factory.Sequence(lambda n: f"Anchor {n}")
    kind = AnchorKind.EMPLOYER
    billing_contact_name = "Bea Billing"
    billing_contact_email = factory.Sequence(lambda n: f"billing{n}@anchor.example")
    address = "3 Mill Street"
    currency = "EUR"


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DirectCareContract

    anchor = factory.SubFactory(AnchorFactory)
    reference = factory.Sequence(lambda n: f"C-{n:04d}")
    start_date = datetime.date(2024, 1, 1)
    rate_per_member_month = Decimal("30.00")
    currency = "EUR"
    payment_terms_days = 30
    billing_day = 1
    status = ContractStatus.ACTIVE


class EnrolmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CoverEnrolment

    contract = factory.SubFactory(ContractFactory)
    member = factory.SubFactory(MemberFactory)
    covered_from = datetime.date(2024, 1, 1)


class FeePlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeePlan

    name = factory.Sequence(lambda n: f"Plan {n}")
    amount = Decimal("20.00")
    currency = "EUR"
    period = FeePeriod.MONTHLY


class FeePlanAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeePlanAssignment

    member = factory.SubFactory(MemberFactory)
    plan = factory.SubFactory(FeePlanFactory)
    valid_from = datetime.date(2024, 1, 1)
