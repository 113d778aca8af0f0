import datetime

import factory
from django.utils import timezone

from governance import services
from governance.models import BallotKind, MajorityRule, Meeting, MeetingKind


class MeetingFactory(factory.django.DjangoModelFactory):
    """A general meeting comfortably beyond the notice period."""

    class Meta:
        model = Meeting

    kind = MeetingKind.ANNUAL
    title = factory.Sequence(lambda n: f"Annual general meeting {2026 + n}")
    starts_at = factory.LazyFunction(
        lambda: (timezone.now() + datetime.timedelta(days=30)).replace(second=0, microsecond=0)
    )
    ends_at = factory.LazyAttribute(lambda m: m.starts_at + datetime.timedelta(hours=2, minutes=30))
    place = "Community hall, 1 Commons Lane"


def motion(*, rule: str = MajorityRule.SIMPLE, meeting=None, **kwargs):
    now = timezone.now()
    defaults = {
        "title": "Approve the annual accounts",
        "kind": BallotKind.MOTION,
        "majority_rule": rule,
        "record_date": timezone.localdate() - datetime.timedelta(days=1),
        "opens_at": now - datetime.timedelta(minutes=1),
        "closes_at": now + datetime.timedelta(days=7),
        "meeting": meeting,
    }
    return services.ballot_create(**{**defaults, **kwargs})


def election(*, candidates, seats: int = 1, **kwargs):
    now = timezone.now()
    defaults = {
        "title": "Board election",
        "kind": BallotKind.ELECTION,
        "majority_rule": MajorityRule.PLURALITY,
        "record_date": timezone.localdate() - datetime.timedelta(days=1),
        "opens_at": now - datetime.timedelta(minutes=1),
        "closes_at": now + datetime.timedelta(days=7),
        "seats": seats,
        "candidates": candidates,
    }
    return services.ballot_create(**{**defaults, **kwargs})


def option(ballot, choice: str):
    """The option of a motion ("for", "against", "abstain") or a candidate's by label."""
    options = ballot.options.all()
    return next(o for o in options if choice in (o.motion_choice, o.label))
