"""Governance in the demo cooperative: an upcoming AGM with an open motion, last year's
AGM with minutes and a closed board election, and the board it elected.

Looked up by title before anything is created, so running it again changes nothing.
Demo members are found by their email; any that are missing are simply left out.
"""

import contextlib
import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from governance import services
from governance.models import (
    AgendaItem,
    Ballot,
    BallotKind,
    BoardRole,
    BoardTerm,
    EligibleVoter,
    MajorityRule,
    Meeting,
    MeetingKind,
)
from members.models import Member

UPCOMING_AGM = gettext_lazy("Annual general meeting (upcoming)")
PAST_AGM = gettext_lazy("Annual general meeting (last year)")
OPEN_MOTION = gettext_lazy("Approve the annual accounts and the clinic's plan")
CLOSED_ELECTION = gettext_lazy("Board election")
PLACE = gettext_lazy("Community hall, 1 Commons Lane")
MEETING_LENGTH = datetime.timedelta(hours=2, minutes=30)

AGENDA = [
    (gettext_lazy("Welcome and apologies"), ""),
    (
        gettext_lazy("Annual report of the board"),
        gettext_lazy("The year in care: arcs of care begun and achieved."),
    ),
    (
        gettext_lazy("Annual accounts"),
        gettext_lazy("Approval of the accounts and the federation contribution."),
    ),
    (
        gettext_lazy("Motion: approve the accounts and the plan"),
        gettext_lazy("Vote online before the meeting, or there."),
    ),
    (gettext_lazy("Any other business"), ""),
]
MINUTES = gettext_lazy(
    "42 members took part in person or online. The board presented the annual report; the "
    "accounts were approved. The board election was held by secret ballot; the results are "
    "published with every receipt counted. The meeting closed at 21:10."
)


def _demo_members() -> dict[int, Member]:
    emails = ["member@demo.coop"] + [f"member{n}@demo.coop" for n in range(2, 43)]
    found = Member.objects.filter(user__email__in=emails).select_related("user")
    by_email = {m.user.email: m for m in found}
    return {
        number: by_email[email] for number, email in enumerate(emails, start=1) if email in by_email
    }


def _at_seven_pm(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(19, 0)))


def _meeting(title: str, starts_at: datetime.datetime, minutes: str = "") -> Meeting:
    meeting, _created = Meeting.objects.get_or_create(
        kind=MeetingKind.ANNUAL,
        title=str(title),
        defaults={
            "starts_at": starts_at,
            "ends_at": starts_at + MEETING_LENGTH,
            "place": str(PLACE),
            "minutes": str(minutes),
        },
    )
    if not AgendaItem.objects.filter(meeting=meeting).exists():
        AgendaItem.objects.bulk_create(
            [
                AgendaItem(meeting=meeting, position=i, title=str(t), description=str(d))
                for i, (t, d) in enumerate(AGENDA, start=1)
            ]
        )
    return meeting


def _eligible(ballot: Ballot) -> set[int]:
    return set(EligibleVoter.objects.filter(ballot=ballot).values_list("member_id", flat=True))


def _open_motion(meeting: Meeting, members: dict[int, Member]) -> None:
    if Ballot.objects.filter(title=str(OPEN_MOTION)).exists():
        return
    now = timezone.now()
    ballot = services.ballot_create(
        meeting=meeting,
        title=str(OPEN_MOTION),
        description=_("The members approve the annual accounts and the plan for next year."),
        kind=BallotKind.MOTION,
        majority_rule=MajorityRule.SIMPLE,
        record_date=timezone.localdate() - datetime.timedelta(days=2),
        opens_at=now - datetime.timedelta(days=1),
        closes_at=meeting.starts_at,
        allow_proxies=True,
    )
    ballot = services.ballot_open(ballot=ballot)
    options = {o.motion_choice: o.pk for o in ballot.options.all()}
    eligible = _eligible(ballot)
    # Members 1 and 2 (the demo logins) have not voted yet, so they can try it.
    for number in range(3, 15):
        member = members.get(number)
        if member and member.pk in eligible:
            choice = ("for", "for", "against", "for", "abstain")[number % 5]
            services.vote_cast(
                ballot=ballot, voter=member, cast_by=member, option_ids=[options[choice]]
            )


def _closed_election(meeting: Meeting, members: dict[int, Member]) -> None:
    if Ballot.objects.filter(title=str(CLOSED_ELECTION)).exists():
        return
    candidates = [members[n] for n in (3, 4, 5, 6, 7) if n in members]
    if len(candidates) < 3:
        return
    now = timezone.now()
    ballot = services.ballot_create(
        meeting=meeting,
        title=str(CLOSED_ELECTION),
        description=_("Three seats on the board, for two years."),
        kind=BallotKind.ELECTION,
        majority_rule=MajorityRule.PLURALITY,
        seats=3,
        candidates=candidates,
        record_date=timezone.localdate(meeting.starts_at) - datetime.timedelta(days=30),
        opens_at=now - datetime.timedelta(hours=1),
        closes_at=now + datetime.timedelta(hours=1),
    )
    ballot = services.ballot_open(ballot=ballot)
    options = [o.pk for o in ballot.options.order_by("position")]
    eligible = _eligible(ballot)
    # A fixed pattern of choices, so every run gives the same result.
    patterns = [(0, 1, 2), (0, 2, 3), (1, 0), (0, 1, 4), (2, 3), (0,), (1, 2, 0)]
    for number in range(1, 31):
        member = members.get(number)
        if member and member.pk in eligible:
            chosen = [options[i] for i in patterns[number % len(patterns)] if i < len(options)]
            services.vote_cast(ballot=ballot, voter=member, cast_by=member, option_ids=chosen)
    services.ballot_close(ballot=ballot)
    # Move its times back to the meeting it belonged to.
    Ballot.objects.filter(pk=ballot.pk).update(
        opens_at=meeting.starts_at - datetime.timedelta(days=14),
        closes_at=meeting.starts_at + datetime.timedelta(hours=2),
        opened_at=meeting.starts_at - datetime.timedelta(days=14),
        closed_at=meeting.starts_at + datetime.timedelta(hours=2),
    )
    ballot.refresh_from_db()
    starts_on = timezone.localdate(meeting.starts_at)
    # A tie or no quorum in a thinned-out demo leaves the board as it is.
    with contextlib.suppress(ValidationError):
        services.board_apply_election(
            ballot=ballot,
            role=BoardRole.DIRECTOR,
            starts_on=starts_on,
            ends_on=starts_on + datetime.timedelta(days=730),
        )


def _chair(members: dict[int, Member], past: Meeting) -> None:
    chair = members.get(2)
    if chair is None:
        return
    starts_on = timezone.localdate(past.starts_at)
    BoardTerm.objects.get_or_create(
        member=chair,
        role=BoardRole.CHAIR,
        elected_in=None,
        defaults={"starts_on": starts_on, "ends_on": starts_on + datetime.timedelta(days=730)},
    )


def seed() -> None:
    members = _demo_members()
    today = timezone.localdate()
    upcoming = _meeting(UPCOMING_AGM, _at_seven_pm(today + datetime.timedelta(days=30)))
    past = _meeting(PAST_AGM, _at_seven_pm(today - datetime.timedelta(days=200)), MINUTES)
    _open_motion(upcoming, members)
    _closed_election(past, members)
    _chair(members, past)
