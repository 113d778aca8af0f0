import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from arcs.models import Arc, ArcStatus, Goal, OutcomeMeasure
from careteam.models import CareTeamAssignment, Discipline, TeamRole
from clinic.roles import Role
from tests.careteam.factories import PractitionerFactory
from tests.members.factories import MemberFactory


def discipline(slug: str = "physical-therapy") -> Discipline:
    return Discipline.objects.get(slug=slug)


def measure(slug: str = "pain-score") -> OutcomeMeasure:
    return OutcomeMeasure.objects.get(slug=slug)


def hub_practitioner(**kwargs):
    return PractitionerFactory(
        user__roles=[Role.HUB_COORDINATOR], discipline=discipline("nursing"), **kwargs
    )


class CareTeamAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CareTeamAssignment

    member = factory.SubFactory(MemberFactory)
    practitioner = factory.SubFactory(PractitionerFactory)
    role = TeamRole.PRACTITIONER
    started_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=30))


class ArcFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Arc

    member = factory.SubFactory(MemberFactory)
    title = factory.Sequence(lambda n: f"Arc number {n}")
    endpoint = "Walk to the market without pain."
    lead_discipline = factory.LazyFunction(discipline)
    status = ArcStatus.ACTIVE
    activated_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=60))
    next_review_on = factory.LazyFunction(
        lambda: timezone.localdate() + datetime.timedelta(days=14)
    )
    last_activity_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def began(arc, create, extracted, **kwargs):
        # An arc that was activated was created (as a draft) before: measures dated since
        # its creation are valid. ``began=<datetime>`` sets the creation time explicitly.
        moment = extracted
        if moment is None and arc.activated_on is not None:
            moment = timezone.make_aware(
                datetime.datetime.combine(
                    arc.activated_on - datetime.timedelta(days=14), datetime.time(9)
                )
            )
        if create and moment is not None:
            Arc.objects.filter(pk=arc.pk).update(created_at=moment)
            arc.created_at = moment


class GoalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Goal

    arc = factory.SubFactory(ArcFactory)
    measure = factory.LazyFunction(measure)
    description = "Pain down to 2"
    baseline = Decimal("7")
    target = Decimal("2")
    target_date = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=90))


class CareSetting:
    """A member with an active arc, their care team, and an outsider practitioner."""

    def __init__(self) -> None:
        self.member = MemberFactory()
        self.clinician = PractitionerFactory()
        self.hub = hub_practitioner()
        self.outsider = PractitionerFactory()
        CareTeamAssignmentFactory(
            member=self.member, practitioner=self.hub, role=TeamRole.HUB_COORDINATOR
        )
        CareTeamAssignmentFactory(member=self.member, practitioner=self.clinician)
        self.arc = ArcFactory(member=self.member)
        self.goal = GoalFactory(arc=self.arc)
        self.other_member = MemberFactory()
