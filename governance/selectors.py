"""Reads of meetings, ballots and the board, with the reader's scope in the queryset."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from clinic.roles import Role, has_role
from governance import rules
from governance.models import (
    GENERAL_MEETING_KINDS,
    AgendaItem,
    Ballot,
    BallotOption,
    BallotStatus,
    BoardTerm,
    CastBallot,
    DeliveryChannel,
    DeliveryStatus,
    EligibleVoter,
    Meeting,
    NoticeDelivery,
    Participation,
    PostalNoticeBatch,
    ProxyAppointment,
)
from members.models import Member


def meetings_for_user(user) -> QuerySet[Meeting]:
    """Administrators see every meeting; members see general meetings only."""
    meetings = Meeting.objects.all()
    if has_role(user, Role.ADMINISTRATOR):
        return meetings
    if has_role(user, Role.MEMBER):
        return meetings.filter(kind__in=GENERAL_MEETING_KINDS)
    return meetings.none()


def meeting_for_user(user, pk: int) -> Meeting:
    return get_object_or_404(
        meetings_for_user(user).prefetch_related(
            Prefetch("agenda_items", queryset=AgendaItem.objects.order_by("position")),
            "documents",
            Prefetch("ballots", queryset=ballots_for_user(user).order_by("opens_at", "pk")),
        ),
        pk=pk,
    )


def _member_ballots(member_pk) -> Q:
    """Members' ballots: those not tied to a board meeting, and board meetings' ballots
    only for the board members on their list of voters."""
    return (
        Q(meeting__isnull=True)
        | Q(meeting__kind__in=GENERAL_MEETING_KINDS)
        | Exists(EligibleVoter.objects.filter(ballot=OuterRef("pk"), member_id=member_pk))
    )


def ballots_for_user(user) -> QuerySet[Ballot]:
    """Administrators see every ballot; members see ballots once they are open."""
    ballots = Ballot.objects.select_related("meeting")
    if has_role(user, Role.ADMINISTRATOR):
        return ballots
    if has_role(user, Role.MEMBER):
        member = Member.objects.filter(user=user).values("pk")[:1]
        return ballots.exclude(status__in=[BallotStatus.DRAFT, BallotStatus.CANCELLED]).filter(
            _member_ballots(Subquery(member))
        )
    return ballots.none()


def ballot_for_user(user, pk: int) -> Ballot:
    return get_object_or_404(ballots_for_user(user), pk=pk)


def closed_ballot_for_user(user, pk: int) -> Ballot:
    """Results exist only after close: before that the ballot is simply not found."""
    return get_object_or_404(ballots_for_user(user).filter(status=BallotStatus.CLOSED), pk=pk)


def upcoming_general_meetings(*, now: datetime.datetime | None = None) -> QuerySet[Meeting]:
    now = now or timezone.now()
    return (
        Meeting.objects.filter(kind__in=GENERAL_MEETING_KINDS, starts_at__gte=now)
        .order_by("starts_at")
        .prefetch_related(
            Prefetch("agenda_items", queryset=AgendaItem.objects.order_by("position"))
        )
    )


def past_general_meetings(*, now: datetime.datetime | None = None) -> QuerySet[Meeting]:
    now = now or timezone.now()
    return Meeting.objects.filter(kind__in=GENERAL_MEETING_KINDS, starts_at__lt=now).order_by(
        "-starts_at"
    )


def ballots_for_member(member: Member, *, status: str) -> QuerySet[Ballot]:
    """Open or closed ballots, each annotated with whether this member may and did vote."""
    return (
        Ballot.objects.filter(status=status)
        .filter(_member_ballots(member.pk))
        .select_related("meeting")
        .annotate(
            member_eligible=Exists(
                EligibleVoter.objects.filter(ballot=OuterRef("pk"), member=member)
            ),
            member_voted=Exists(Participation.objects.filter(ballot=OuterRef("pk"), voter=member)),
        )
        .order_by("closes_at" if status == BallotStatus.OPEN else "-closes_at")
    )


@dataclass(frozen=True)
class VoterStanding:
    eligible: bool
    voted: bool
    voted_by_proxy: bool
    proxy: ProxyAppointment | None
    # Members who appointed this member as their proxy and have not voted yet.
    represents: list[Member]
    represents_voted: list[Member]


def voter_standing(ballot: Ballot, member: Member) -> VoterStanding:
    eligible = EligibleVoter.objects.filter(ballot=ballot, member=member).exists()
    participation = (
        Participation.objects.filter(ballot=ballot, voter=member).only("cast_by_id").first()
    )
    proxy = (
        ProxyAppointment.objects.filter(ballot=ballot, grantor=member)
        .select_related("proxy__user")
        .first()
    )
    granted = list(
        ProxyAppointment.objects.filter(ballot=ballot, proxy=member).select_related("grantor__user")
    )
    voted_ids = set(
        Participation.objects.filter(
            ballot=ballot, voter__in=[g.grantor_id for g in granted]
        ).values_list("voter_id", flat=True)
    )
    return VoterStanding(
        eligible=eligible,
        voted=participation is not None,
        voted_by_proxy=participation is not None and participation.cast_by_id != member.pk,
        proxy=proxy,
        represents=[g.grantor for g in granted if g.grantor_id not in voted_ids],
        represents_voted=[g.grantor for g in granted if g.grantor_id in voted_ids],
    )


@dataclass(frozen=True)
class Tally:
    ballot: Ballot
    counts: list[rules.OptionCount]
    ballots_cast: int
    outcome: rules.Outcome

    @property
    def turnout(self) -> float:
        return self.ballots_cast / self.ballot.eligible_count if self.ballot.eligible_count else 0

    @property
    def turnout_percent(self) -> Decimal:
        from governance.charts import share

        return share(self.ballots_cast, self.ballot.eligible_count)

    @property
    def quorum_percent(self) -> Decimal:
        return (self.ballot.quorum * 100).quantize(Decimal("0.1"))


def ballot_tally(ballot: Ballot) -> Tally:
    """Count the stored anonymous ballots in ONE aggregate query (reproducible any time)."""
    cast = (
        CastBallot.objects.filter(ballot=ballot)
        .order_by()
        .values("ballot")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = list(
        BallotOption.objects.filter(ballot=ballot)
        .order_by("position")
        .annotate(votes=Count("marks"), ballots_cast=Subquery(cast, output_field=IntegerField()))
        .values("pk", "label", "motion_choice", "candidate_id", "votes", "ballots_cast")
    )
    counts = [
        rules.OptionCount(
            option_id=row["pk"],
            label=row["label"],
            votes=row["votes"],
            motion_choice=row["motion_choice"],
            candidate_id=row["candidate_id"],
        )
        for row in rows
    ]
    ballots_cast = (rows[0]["ballots_cast"] or 0) if rows else 0
    return Tally(
        ballot=ballot,
        counts=counts,
        ballots_cast=ballots_cast,
        outcome=rules.outcome(
            counts=counts,
            ballots_cast=ballots_cast,
            eligible=ballot.eligible_count,
            quorum=ballot.quorum,
            rule=ballot.majority_rule,
            seats=ballot.seats,
        ),
    )


def receipts(ballot: Ballot) -> QuerySet[CastBallot]:
    return CastBallot.objects.filter(ballot=ballot).order_by("receipt").only("receipt")


def receipt_counted(ballot: Ballot, receipt: str) -> bool:
    from governance.services import normalize_receipt

    return CastBallot.objects.filter(ballot=ballot, receipt=normalize_receipt(receipt)).exists()


@dataclass(frozen=True)
class Turnout:
    """How many of how many have voted: never who, never what."""

    voted: int
    eligible: int

    @property
    def share(self) -> float:
        return self.voted / self.eligible if self.eligible else 0


def ballot_turnout(ballot: Ballot) -> Turnout:
    return Turnout(
        voted=Participation.objects.filter(ballot=ballot).count(), eligible=ballot.eligible_count
    )


@dataclass(frozen=True)
class NoticeProgress:
    email_sent: int
    email_failed: int
    email_queued: int
    post_total: int
    post_done: int
    # Postal members with no address on file: their letter cannot be posted as printed.
    post_unaddressed: int

    @property
    def remaining(self) -> int:
        return self.email_queued + (self.post_total - self.post_done)

    @property
    def total(self) -> int:
        return self.email_sent + self.email_failed + self.email_queued + self.post_total


_FAILED = [DeliveryStatus.FAILED, DeliveryStatus.GAVE_UP, DeliveryStatus.UNKNOWN]


def notice_progress(meeting: Meeting) -> NoticeProgress:
    email = Q(channel=DeliveryChannel.EMAIL)
    post = Q(channel=DeliveryChannel.POST)
    counts = NoticeDelivery.objects.filter(meeting=meeting).aggregate(
        email_sent=Count("pk", filter=email & Q(status=DeliveryStatus.SENT)),
        email_failed=Count("pk", filter=email & Q(status__in=_FAILED)),
        email_queued=Count(
            "pk", filter=email & Q(status__in=[DeliveryStatus.QUEUED, DeliveryStatus.SENDING])
        ),
        post_total=Count("pk", filter=post),
        post_done=Count("pk", filter=post & Q(status=DeliveryStatus.SENT)),
        post_unaddressed=Count("pk", filter=post & Q(member__address="")),
    )
    return NoticeProgress(**counts)


def postal_batches(meeting: Meeting) -> QuerySet[PostalNoticeBatch]:
    return PostalNoticeBatch.objects.filter(meeting=meeting).order_by("-created_at", "-pk")


def failed_deliveries(meeting: Meeting) -> QuerySet[NoticeDelivery]:
    return NoticeDelivery.objects.filter(meeting=meeting, status__in=_FAILED).select_related(
        "member__user"
    )


def notice_deadline(meeting: Meeting) -> datetime.datetime:
    """The latest moment a notice may leave for the notice period to be met."""
    return meeting.starts_at - datetime.timedelta(days=settings.CLINIC_NOTICE_PERIOD_DAYS)


def notices_not_in_time(meeting: Meeting) -> QuerySet[NoticeDelivery]:
    """Members whose notice did not leave by the deadline (late, failed or still waiting).

    The notice period counts from when the mail actually left (``sent_at``), not from when
    it was queued: these members were not validly noticed and are reported, not counted.
    """
    return (
        NoticeDelivery.objects.filter(meeting=meeting)
        .exclude(status=DeliveryStatus.SENT, sent_at__lte=notice_deadline(meeting))
        .select_related("member__user")
        .order_by("member__number", "pk")
    )


def current_board(*, on: datetime.date | None = None) -> QuerySet[BoardTerm]:
    on = on or timezone.localdate()
    return BoardTerm.objects.filter(starts_on__lte=on, ends_on__gte=on).select_related(
        "member__user"
    )


def board_terms() -> QuerySet[BoardTerm]:
    return BoardTerm.objects.select_related("member__user", "elected_in").order_by(
        "-starts_on", "role", "pk"
    )


def admin_meetings() -> QuerySet[Meeting]:
    return Meeting.objects.annotate(ballot_count=Count("ballots")).order_by("-starts_at")


def admin_ballots() -> QuerySet[Ballot]:
    return (
        Ballot.objects.select_related("meeting")
        .annotate(participation_count=Count("participations"))
        .order_by("-opens_at", "pk")
    )


def proxy_grantor_or_404(ballot: Ballot, *, proxy: Member, number: str) -> Member:
    """The member ``proxy`` votes for with ``?for=number``.

    Every number that is not a valid proxy (no such member, not eligible, no appointment,
    proxies not allowed, not a number at all) gets the same 404, so the page says nothing
    about who exists or who is in good standing.
    """
    if not number.isdigit() or len(number) > 9 or not ballot.allow_proxies:
        raise Http404
    appointment = (
        ProxyAppointment.objects.filter(
            ballot=ballot,
            proxy=proxy,
            grantor__number=int(number),
            grantor__in=EligibleVoter.objects.filter(ballot=ballot).values("member"),
        )
        .select_related("grantor__user")
        .first()
    )
    if appointment is None:
        raise Http404
    return appointment.grantor


def eligible_member_or_404(ballot: Ballot, *, pk: int) -> Member:
    voter = (
        EligibleVoter.objects.filter(ballot=ballot, member_id=pk)
        .select_related("member__user")
        .first()
    )
    if voter is None:
        raise Http404
    return voter.member


PROXY_SEARCH_MIN = 3
PROXY_SEARCH_LIMIT = 10


def proxy_candidates(ballot: Ballot, *, member: Member, query: str) -> list[Member]:
    """Eligible voters of the ballot whose name matches ``query`` (a few, by name)."""
    query = " ".join(query.split())
    if len(query) < PROXY_SEARCH_MIN:
        return []
    matches = Q()
    for word in query.split(" "):
        matches &= Q(user__first_name__icontains=word) | Q(user__last_name__icontains=word)
    return list(
        Member.objects.filter(
            matches, pk__in=EligibleVoter.objects.filter(ballot=ballot).values("member")
        )
        .exclude(pk=member.pk)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "pk")[:PROXY_SEARCH_LIMIT]
    )
