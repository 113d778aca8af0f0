"""Every write of governance: meetings, notices, ballots, votes, proxies and the board."""

import contextlib
import datetime
import secrets
from collections.abc import Iterable
from decimal import Decimal
from smtplib import SMTPException

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic.pdf import render_pdf
from governance.models import (
    AgendaItem,
    Ballot,
    BallotKind,
    BallotMark,
    BallotOption,
    BallotStatus,
    BoardTerm,
    CastBallot,
    DeliveryChannel,
    DeliveryStatus,
    EligibleVoter,
    MajorityRule,
    Meeting,
    MeetingDocument,
    NoticeDelivery,
    Participation,
    PostalNoticeBatch,
    ProxyAppointment,
)
from members.models import Member
from members.models import NoticeDelivery as NoticePreference
from members.selectors import members_in_good_standing

# Receipts avoid look-alike characters (0/O, 1/I/L) so members can read them back.
RECEIPT_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

ALREADY_VOTED = gettext_lazy(
    "A vote has already been recorded for this member in this ballot; it was not counted again."
)


# --- Meetings ---------------------------------------------------------------------------


def earliest_general_meeting(*, now: datetime.datetime | None = None) -> datetime.datetime:
    return (now or timezone.now()) + datetime.timedelta(days=settings.CLINIC_NOTICE_PERIOD_DAYS)


def check_notice_period(*, kind: str, starts_at: datetime.datetime) -> None:
    meeting = Meeting(kind=kind)
    earliest = earliest_general_meeting()
    if meeting.is_general and starts_at < earliest:
        raise ValidationError(
            {
                "starts_at": _(
                    "A general meeting needs at least %(days)d days' notice: schedule it "
                    "on or after %(date)s."
                )
                % {
                    "days": settings.CLINIC_NOTICE_PERIOD_DAYS,
                    "date": timezone.localtime(earliest).strftime("%Y-%m-%d %H:%M"),
                }
            }
        )


def check_meeting_times(*, starts_at: datetime.datetime, ends_at: datetime.datetime) -> None:
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": _("A meeting ends after it starts.")})


@transaction.atomic
def meeting_schedule(
    *,
    kind: str,
    title: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    place: str = "",
    online_link: str = "",
) -> Meeting:
    check_notice_period(kind=kind, starts_at=starts_at)
    check_meeting_times(starts_at=starts_at, ends_at=ends_at)
    if not place and not online_link:
        raise ValidationError(_("Give a place, an online link, or both."))
    return Meeting.objects.create(
        kind=kind,
        title=title,
        starts_at=starts_at,
        ends_at=ends_at,
        place=place,
        online_link=online_link,
    )


@transaction.atomic
def meeting_update(
    *,
    meeting: Meeting,
    title: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    place: str,
    online_link: str,
    minutes: str,
) -> Meeting:
    if (starts_at, ends_at) != (meeting.starts_at, meeting.ends_at):
        # Members' calendars hold the times they were sent; a change would not reach them.
        if meeting.notice_sent_at:
            raise ValidationError(
                _("The notice has been sent: the meeting's times can no longer change.")
            )
        if starts_at != meeting.starts_at:
            check_notice_period(kind=meeting.kind, starts_at=starts_at)
    check_meeting_times(starts_at=starts_at, ends_at=ends_at)
    if minutes and minutes != meeting.minutes and timezone.now() < starts_at:
        raise ValidationError(
            {"minutes": _("Minutes can be recorded once the meeting has been held.")}
        )
    if not place and not online_link:
        raise ValidationError(_("Give a place, an online link, or both."))
    meeting.title, meeting.starts_at, meeting.ends_at = title, starts_at, ends_at
    meeting.place, meeting.online_link, meeting.minutes = place, online_link, minutes
    meeting.save()
    return meeting


@transaction.atomic
def agenda_item_add(*, meeting: Meeting, title: str, description: str = "") -> AgendaItem:
    Meeting.objects.select_for_update().get(pk=meeting.pk)
    last = meeting.agenda_items.aggregate(last=Max("position"))["last"] or 0
    return AgendaItem.objects.create(
        meeting=meeting, position=last + 1, title=title, description=description
    )


def validate_pdf(upload: UploadedFile) -> None:
    """Only real PDFs are accepted: the file must start with the PDF signature."""
    upload.seek(0)
    head = upload.read(5)
    upload.seek(0)
    if head != b"%PDF-":
        raise ValidationError(_("This file is not a PDF."))
    if upload.size > 20 * 1024 * 1024:
        raise ValidationError(_("PDF files may be at most 20 MB."))


@transaction.atomic
def meeting_document_add(*, meeting: Meeting, title: str, upload: UploadedFile) -> MeetingDocument:
    validate_pdf(upload)
    return MeetingDocument.objects.create(meeting=meeting, title=title, file=upload)


# --- Notices ----------------------------------------------------------------------------


@transaction.atomic
def meeting_send_notice(*, meeting: Meeting) -> int:
    """Record a delivery for every member in good standing not yet noticed, then mail.

    Safe to run again: the (meeting, member) constraint means a member already noticed
    gets no second row, and only queued or failed email deliveries are (re)sent.
    Returns the number of new deliveries.
    """
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if not meeting.is_general:
        raise ValidationError(_("Only general meetings are noticed to every member."))
    if timezone.now() > meeting.starts_at:
        raise ValidationError(_("This meeting has already taken place."))
    if meeting.notice_sent_at is None and meeting.starts_at < earliest_general_meeting():
        raise ValidationError(
            _("Too late: the notice must be sent at least %(days)d days before the meeting.")
            % {"days": settings.CLINIC_NOTICE_PERIOD_DAYS}
        )
    recipients = members_in_good_standing().values_list("pk", "notice_delivery")
    before = NoticeDelivery.objects.filter(meeting=meeting).count()
    NoticeDelivery.objects.bulk_create(
        [
            NoticeDelivery(
                meeting=meeting,
                member_id=pk,
                channel=DeliveryChannel.POST
                if preference == NoticePreference.POST
                else DeliveryChannel.EMAIL,
            )
            for pk, preference in recipients
        ],
        ignore_conflicts=True,
    )
    created = NoticeDelivery.objects.filter(meeting=meeting).count() - before
    if meeting.notice_sent_at is None:
        meeting.notice_sent_at = timezone.now()
        meeting.save(update_fields=["notice_sent_at"])
    from governance import tasks

    transaction.on_commit(lambda: tasks.dispatch_meeting_notice.delay(meeting.pk))
    return created


def notice_dispatch(*, meeting_id: int) -> None:
    """Queue one task per chunk of unsent email notices, and the postal batch."""
    from governance import tasks

    pending = list(
        NoticeDelivery.objects.filter(
            meeting_id=meeting_id,
            channel=DeliveryChannel.EMAIL,
            status__in=[DeliveryStatus.QUEUED, DeliveryStatus.FAILED],
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    size = settings.CLINIC_NOTICE_CHUNK_SIZE
    for start in range(0, len(pending), size):
        tasks.send_notice_chunk.delay(meeting_id, pending[start : start + size])
    if NoticeDelivery.objects.filter(
        meeting_id=meeting_id, channel=DeliveryChannel.POST, status=DeliveryStatus.QUEUED
    ).exists():
        tasks.render_postal_notices.delay(meeting_id)


def _meeting_context(meeting: Meeting) -> dict:
    return {
        "meeting": meeting,
        "agenda": list(meeting.agenda_items.order_by("position")),
        "documents": list(meeting.documents.all()),
        "ballots": list(meeting.ballots.exclude(status=BallotStatus.CLOSED)),
        "notice_days": settings.CLINIC_NOTICE_PERIOD_DAYS,
        "CLINIC_NAME": settings.CLINIC_NAME,
        "CLINIC_ADDRESS": settings.CLINIC_ADDRESS,
    }


def meeting_calendar(meeting: Meeting) -> bytes:
    """The meeting as an iCalendar invitation, in the clinic's time zone."""
    import icalendar

    context = _meeting_context(meeting)
    start = timezone.localtime(meeting.starts_at)
    calendar = icalendar.Calendar()
    calendar.add("prodid", f"-//{settings.CLINIC_NAME}//Governance//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", f"meeting-{meeting.pk}@governance.clinic")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", start)
    event.add("dtend", timezone.localtime(meeting.ends_at))
    event.add("summary", meeting.title)
    event.add("location", meeting.place or meeting.online_link)
    if meeting.online_link:
        event.add("url", meeting.online_link)
    event.add("description", render_to_string("governance/email/agenda.txt", context).strip())
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def meeting_notice_pdf(meeting: Meeting) -> bytes:
    return render_pdf("governance/pdf/notice.html", _meeting_context(meeting))


def _notice_message(delivery: NoticeDelivery, *, pdf: bytes, ics: bytes, connection):
    member = delivery.member
    context = {**_meeting_context(delivery.meeting), "member": member}
    subject = render_to_string("governance/email/notice_subject.txt", context).strip()
    body = render_to_string("governance/email/notice_body.txt", context)
    message = EmailMessage(
        subject=subject,
        body=body,
        to=[member.user.email],
        connection=connection,
        headers={"Content-Language": translation.get_language()},
    )
    message.attach("meeting.ics", ics, "text/calendar")
    message.attach("notice.pdf", pdf, "application/pdf")
    return message


def notice_send_chunk(*, meeting_id: int, delivery_ids: Iterable[int]) -> int:
    """Mail each not-yet-sent notice of the chunk; returns how many failed.

    Each delivery is locked while it is sent, and only queued or failed ones are sent, so
    two workers (or a retry) never mail the same member twice.
    """
    meeting = Meeting.objects.get(pk=meeting_id)
    documents: dict[str, tuple[bytes, bytes]] = {}
    failed = 0
    connection = get_connection()
    # If the server is down, each message below tries again and records its own failure.
    with contextlib.suppress(SMTPException, OSError):
        connection.open()
    try:
        for delivery_id in delivery_ids:
            with transaction.atomic():
                delivery = (
                    NoticeDelivery.objects.select_for_update(skip_locked=True)
                    .select_related("member__user")
                    .filter(
                        pk=delivery_id,
                        meeting=meeting,
                        channel=DeliveryChannel.EMAIL,
                        status__in=[DeliveryStatus.QUEUED, DeliveryStatus.FAILED],
                    )
                    .first()
                )
                if delivery is None:
                    continue
                delivery.meeting = meeting
                language = delivery.member.language
                with translation.override(language):
                    if language not in documents:
                        documents[language] = (
                            meeting_notice_pdf(meeting),
                            meeting_calendar(meeting),
                        )
                    pdf, ics = documents[language]
                    message = _notice_message(delivery, pdf=pdf, ics=ics, connection=connection)
                delivery.attempts += 1
                try:
                    message.send()
                except (SMTPException, OSError) as error:
                    failed += 1
                    delivery.status = DeliveryStatus.FAILED
                    delivery.last_error = str(error)[:255]
                else:
                    delivery.status = DeliveryStatus.SENT
                    delivery.sent_at = timezone.now()
                    delivery.last_error = ""
                delivery.save(update_fields=["attempts", "status", "last_error", "sent_at"])
    finally:
        connection.close()
    return failed


@transaction.atomic
def postal_notices_render(*, meeting_id: int) -> PostalNoticeBatch | None:
    """Print the not-yet-printed postal notices as a new batch: one PDF of addressed letters.

    Earlier batches stay as they were, so a batch still waiting to be printed is never lost.
    """
    meeting = Meeting.objects.select_for_update().get(pk=meeting_id)
    deliveries = list(
        NoticeDelivery.objects.select_for_update(of=("self",))
        .filter(meeting=meeting, channel=DeliveryChannel.POST, status=DeliveryStatus.QUEUED)
        .select_related("member__user")
        .order_by("member__number", "pk")
    )
    if not deliveries:
        return None
    pdf = render_pdf(
        "governance/pdf/postal_notices.html",
        {**_meeting_context(meeting), "deliveries": deliveries},
    )
    batch = PostalNoticeBatch(meeting=meeting, letters=len(deliveries))
    stamp = timezone.now().strftime("%Y%m%d%H%M%S")
    batch.pdf.save(f"postal-notices-{meeting.pk}-{stamp}.pdf", ContentFile(pdf), save=True)
    now = timezone.now()
    for delivery in deliveries:
        delivery.status = DeliveryStatus.SENT
        delivery.attempts += 1
        delivery.sent_at = now
        delivery.postal_batch = batch
    NoticeDelivery.objects.bulk_update(
        deliveries, ["status", "attempts", "sent_at", "postal_batch"]
    )
    return batch


# --- Ballots ----------------------------------------------------------------------------

MOTION_OPTIONS = (
    ("for", "For"),
    ("against", "Against"),
    ("abstain", "Abstain"),
)


@transaction.atomic
def ballot_create(
    *,
    title: str,
    kind: str,
    majority_rule: str,
    record_date: datetime.date,
    opens_at: datetime.datetime,
    closes_at: datetime.datetime,
    meeting: Meeting | None = None,
    description: str = "",
    seats: int = 1,
    quorum: Decimal | None = None,
    allow_proxies: bool = False,
    candidates: Iterable[Member] = (),
) -> Ballot:
    candidates = list(candidates)
    if closes_at <= opens_at:
        raise ValidationError({"closes_at": _("The ballot must close after it opens.")})
    if record_date > timezone.localtime(opens_at).date():
        raise ValidationError(
            {"record_date": _("The record date cannot be after the ballot opens.")}
        )
    if kind == BallotKind.MOTION:
        if majority_rule not in (MajorityRule.SIMPLE, MajorityRule.TWO_THIRDS):
            raise ValidationError(
                {"majority_rule": _("A motion is decided by simple or two-thirds majority.")}
            )
        seats = 1
    else:
        if majority_rule != MajorityRule.PLURALITY:
            raise ValidationError({"majority_rule": _("An election is decided by plurality.")})
        if len(candidates) < 1:
            raise ValidationError({"candidates": _("An election needs candidates.")})
        if seats > len(candidates):
            raise ValidationError(
                {"seats": _("Voters cannot choose more candidates than there are.")}
            )
    ballot = Ballot.objects.create(
        meeting=meeting,
        title=title,
        description=description,
        kind=kind,
        majority_rule=majority_rule,
        seats=seats,
        record_date=record_date,
        opens_at=opens_at,
        closes_at=closes_at,
        quorum=settings.CLINIC_DEFAULT_QUORUM if quorum is None else quorum,
        allow_proxies=allow_proxies,
    )
    if kind == BallotKind.MOTION:
        options = [
            BallotOption(ballot=ballot, position=i, label=label, motion_choice=choice)
            for i, (choice, label) in enumerate(MOTION_OPTIONS, start=1)
        ]
    else:
        options = [
            BallotOption(ballot=ballot, position=i, label=member.full_name, candidate=member)
            for i, member in enumerate(candidates, start=1)
        ]
    BallotOption.objects.bulk_create(options)
    return ballot


_BALLOT_MOVES = {
    BallotStatus.DRAFT: {BallotStatus.OPEN},
    BallotStatus.OPEN: {BallotStatus.CLOSED},
    BallotStatus.CLOSED: set(),
}


def _ballot_transition(ballot: Ballot, to: str) -> None:
    """The one place a ballot's status changes; it refuses moves the rules do not allow."""
    if to not in _BALLOT_MOVES[BallotStatus(ballot.status)]:
        raise ValidationError(
            _("A ballot that is %(current)s cannot become %(to)s.")
            % {
                "current": BallotStatus(ballot.status).label.lower(),
                "to": BallotStatus(to).label.lower(),
            }
        )
    ballot.status = to


@transaction.atomic
def ballot_open(*, ballot: Ballot) -> Ballot:
    """Open the ballot and fix its list of eligible voters (good standing on record date)."""
    ballot = Ballot.objects.select_for_update().get(pk=ballot.pk)
    now = timezone.now()
    if now >= ballot.closes_at:
        raise ValidationError(_("This ballot's closing time has passed; it cannot open."))
    _ballot_transition(ballot, BallotStatus.OPEN)
    member_ids = list(
        members_in_good_standing(on=ballot.record_date).order_by().values_list("pk", flat=True)
    )
    EligibleVoter.objects.bulk_create(
        [EligibleVoter(ballot=ballot, member_id=pk) for pk in member_ids], batch_size=1000
    )
    ballot.eligible_count = len(member_ids)
    ballot.opened_at = now
    ballot.save(update_fields=["status", "eligible_count", "opened_at"])
    return ballot


@transaction.atomic
def ballot_close(*, ballot: Ballot) -> Ballot:
    ballot = Ballot.objects.select_for_update().get(pk=ballot.pk)
    _ballot_transition(ballot, BallotStatus.CLOSED)
    ballot.closed_at = timezone.now()
    ballot.save(update_fields=["status", "closed_at"])
    _reshuffle_cast_ballots(ballot)
    from governance import tasks

    transaction.on_commit(lambda: tasks.render_ballot_results.delay(ballot.pk))
    return ballot


def _reshuffle_cast_ballots(ballot: Ballot) -> None:
    """Rewrite the anonymous ballots in a random order, in this one transaction.

    While a ballot is open, each anonymous row was written in the same database
    transaction as its participation row, and the database itself keeps traces of that
    (PostgreSQL's transaction id and physical row order). Rewriting them all at close gives
    every row the same transaction and a random position, so the stored ballots keep no
    trace of who cast them. Keys, receipts and choices stay exactly as they were.
    """
    shuffle = secrets.SystemRandom().shuffle
    casts = list(CastBallot.objects.filter(ballot=ballot).values_list("id", "receipt"))
    marks = list(
        BallotMark.objects.filter(cast_ballot__ballot=ballot).values_list(
            "id", "cast_ballot_id", "option_id"
        )
    )
    BallotMark.objects.filter(cast_ballot__ballot=ballot).delete()
    CastBallot.objects.filter(ballot=ballot).delete()
    shuffle(casts)
    shuffle(marks)
    CastBallot.objects.bulk_create(
        [CastBallot(id=pk, ballot=ballot, receipt=receipt) for pk, receipt in casts],
        batch_size=2000,
    )
    BallotMark.objects.bulk_create(
        [BallotMark(id=pk, cast_ballot_id=cast, option_id=opt) for pk, cast, opt in marks],
        batch_size=2000,
    )


def ballots_open_and_close_due() -> tuple[int, int]:
    """Periodic: open ballots whose time has come and close those whose time is up."""
    now = timezone.now()
    opened = closed = 0
    for ballot in Ballot.objects.filter(status=BallotStatus.OPEN, closes_at__lte=now):
        ballot_close(ballot=ballot)
        closed += 1
    for ballot in Ballot.objects.filter(
        status=BallotStatus.DRAFT, opens_at__lte=now, closes_at__gt=now
    ):
        ballot_open(ballot=ballot)
        opened += 1
    return opened, closed


def _new_receipt() -> str:
    code = "".join(secrets.choice(RECEIPT_ALPHABET) for _i in range(12))
    return "-".join(code[i : i + 4] for i in range(0, 12, 4))


@transaction.atomic
def vote_cast(*, ballot: Ballot, voter: Member, cast_by: Member, option_ids: Iterable[int]) -> str:
    """Record that ``voter`` took part and, apart from that, what was chosen.

    Returns the receipt code, which is shown once and stored only with the anonymous
    ballot. The participation row and the anonymous ballot are written in the same
    transaction but share nothing: no key, no time, no order.
    """
    # The lock keeps a vote and the closing of the ballot from crossing.
    ballot = Ballot.objects.select_for_update().get(pk=ballot.pk)
    if ballot.status != BallotStatus.OPEN or timezone.now() >= ballot.closes_at:
        raise ValidationError(_("This ballot is not open for voting."))
    if not EligibleVoter.objects.filter(ballot=ballot, member=voter).exists():
        raise ValidationError(_("This member is not on the list of eligible voters."))
    if cast_by.pk != voter.pk and not (
        ballot.allow_proxies
        and ProxyAppointment.objects.filter(ballot=ballot, grantor=voter, proxy=cast_by).exists()
    ):
        raise ValidationError(_("You do not hold this member's proxy for this ballot."))
    chosen = set(option_ids)
    valid = set(ballot.options.values_list("pk", flat=True))
    if not chosen or not chosen <= valid:
        raise ValidationError(_("Choose one of the options on the ballot."))
    if ballot.kind == BallotKind.MOTION and len(chosen) != 1:
        raise ValidationError(_("Choose exactly one option."))
    if len(chosen) > ballot.seats:
        raise ValidationError(_("Choose at most %(seats)d candidates.") % {"seats": ballot.seats})
    try:
        with transaction.atomic():
            Participation.objects.create(ballot=ballot, voter=voter, cast_by=cast_by)
    except IntegrityError:
        raise ValidationError(str(ALREADY_VOTED)) from None
    receipt = _new_receipt()
    cast = CastBallot.objects.create(ballot=ballot, receipt=receipt)
    BallotMark.objects.bulk_create(
        [BallotMark(cast_ballot=cast, option_id=option_id) for option_id in sorted(chosen)]
    )
    return receipt


@transaction.atomic
def proxy_appoint(*, ballot: Ballot, grantor: Member, proxy: Member) -> ProxyAppointment:
    ballot = Ballot.objects.select_for_update().get(pk=ballot.pk)
    if not ballot.allow_proxies:
        raise ValidationError(_("This ballot does not allow proxy voting."))
    if ballot.status != BallotStatus.OPEN or timezone.now() >= ballot.closes_at:
        raise ValidationError(_("Proxies can be appointed only while the ballot is open."))
    if grantor.pk == proxy.pk:
        raise ValidationError(_("Appoint another member as your proxy."))
    eligible = set(
        EligibleVoter.objects.filter(ballot=ballot, member__in=[grantor, proxy]).values_list(
            "member_id", flat=True
        )
    )
    if grantor.pk not in eligible:
        raise ValidationError(_("Only eligible voters can appoint a proxy."))
    if proxy.pk not in eligible:
        raise ValidationError(_("Your proxy must be an eligible voter in this ballot."))
    if Participation.objects.filter(ballot=ballot, voter=grantor).exists():
        raise ValidationError(_("You have already voted in this ballot."))
    if ProxyAppointment.objects.filter(ballot=ballot, grantor=grantor).exists():
        raise ValidationError(_("You have already appointed a proxy; revoke it first."))
    if (
        ProxyAppointment.objects.filter(ballot=ballot, proxy=proxy).count()
        >= settings.CLINIC_PROXY_LIMIT
    ):
        raise ValidationError(
            _("That member already holds the most proxies allowed (%(limit)d).")
            % {"limit": settings.CLINIC_PROXY_LIMIT}
        )
    return ProxyAppointment.objects.create(ballot=ballot, grantor=grantor, proxy=proxy)


@transaction.atomic
def proxy_revoke(*, ballot: Ballot, grantor: Member) -> None:
    ballot = Ballot.objects.select_for_update().get(pk=ballot.pk)
    if Participation.objects.filter(ballot=ballot, voter=grantor).exists():
        raise ValidationError(_("Your vote has been cast; the proxy can no longer be revoked."))
    ProxyAppointment.objects.filter(ballot=ballot, grantor=grantor).delete()


@transaction.atomic
def ballot_results_render(*, ballot_id: int) -> None:
    from governance.selectors import ballot_tally, receipts

    ballot = (
        Ballot.objects.select_for_update(of=("self",)).select_related("meeting").get(pk=ballot_id)
    )
    if ballot.status != BallotStatus.CLOSED:
        raise ValidationError(_("Results exist only once the ballot has closed."))
    pdf = render_pdf(
        "governance/pdf/results.html",
        {
            "ballot": ballot,
            "tally": ballot_tally(ballot),
            "receipts": list(receipts(ballot).values_list("receipt", flat=True)),
        },
    )
    ballot.results_pdf.save(f"ballot-results-{ballot.pk}.pdf", ContentFile(pdf), save=True)


# --- Board ------------------------------------------------------------------------------


@transaction.atomic
def board_term_add(
    *, member: Member, role: str, starts_on: datetime.date, ends_on: datetime.date
) -> BoardTerm:
    if ends_on <= starts_on:
        raise ValidationError({"ends_on": _("A term ends after it starts.")})
    return BoardTerm.objects.create(member=member, role=role, starts_on=starts_on, ends_on=ends_on)


@transaction.atomic
def board_apply_election(
    *, ballot: Ballot, role: str, starts_on: datetime.date, ends_on: datetime.date
) -> list[BoardTerm]:
    """Give every candidate the closed election elected a board term."""
    from governance.selectors import ballot_tally

    ballot = Ballot.objects.select_for_update().get(pk=ballot.pk)
    if ballot.kind != BallotKind.ELECTION or ballot.status != BallotStatus.CLOSED:
        raise ValidationError(_("Only a closed election's result can be applied to the board."))
    if ballot.board_applied:
        raise ValidationError(_("This election's result has already been applied."))
    if ends_on <= starts_on:
        raise ValidationError({"ends_on": _("A term ends after it starts.")})
    outcome = ballot_tally(ballot).outcome
    if not outcome.quorum_met:
        raise ValidationError(_("The quorum was not met: nobody was elected."))
    if outcome.tied:
        raise ValidationError(
            _("The last seat is tied: resolve the tie before applying the result.")
        )
    terms = BoardTerm.objects.bulk_create(
        [
            BoardTerm(
                member_id=count.candidate_id,
                role=role,
                starts_on=starts_on,
                ends_on=ends_on,
                elected_in=ballot,
            )
            for count in outcome.elected
            if count.candidate_id
        ]
    )
    ballot.board_applied = True
    ballot.save(update_fields=["board_applied"])
    return terms
