"""Every write of governance: meetings, notices, ballots, votes, proxies and the board."""

import datetime
import hashlib
import secrets
from collections.abc import Iterable
from decimal import Decimal
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.text import MIMEText
from email.utils import parseaddr

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.db.models import Max, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic.appendonly import rewrite_window_close, rewrite_window_open
from clinic.delivery import SENDABLE, deliver_batch, delivery_requeue
from clinic.email import BulkEmail
from clinic.pdf import render_pdf
from governance import conf
from governance.models import (
    BALLOT_BOX_REWRITE,
    AgendaItem,
    Ballot,
    BallotKind,
    BallotMail,
    BallotMailKind,
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
    MeetingKind,
    NoticeDelivery,
    Participation,
    PendingChoice,
    PostalNoticeBatch,
    ProxyAppointment,
)
from members.models import Member
from members.models import NoticeDelivery as NoticePreference
from members.selectors import current_members, members_in_good_standing

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


def notice_recipients() -> QuerySet[Member]:
    """Every current member is noticed (voting rights are a separate question), unless
    ``CLINIC_NOTICE_RECIPIENTS=good_standing`` limits notices to members in good standing."""
    if conf.notice_recipients() == "good_standing":
        return members_in_good_standing()
    return current_members()


@transaction.atomic
def meeting_send_notice(*, meeting: Meeting) -> int:
    """Record a delivery for every current member not yet noticed, then mail.

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
    recipients = notice_recipients().order_by().values_list("pk", "notice_delivery")
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
    # Notices the mail server refused to the end are safe to send again; "unknown" ones may
    # have arrived, so they wait for staff to check (clinic.delivery.delivery_requeue).
    NoticeDelivery.objects.filter(
        meeting=meeting, channel=DeliveryChannel.EMAIL, status=DeliveryStatus.GAVE_UP
    ).update(status=DeliveryStatus.QUEUED, last_error="")
    if meeting.notice_sent_at is None:
        # When the notice was first queued: it fixes the meeting's times. The notice period
        # itself counts from each delivery's sent_at (selectors.notice_timeliness).
        meeting.notice_sent_at = timezone.now()
        meeting.save(update_fields=["notice_sent_at"])
    from governance import tasks

    transaction.on_commit(lambda: tasks.dispatch_meeting_notice.delay(meeting.pk))
    return created


@transaction.atomic
def notice_requeue(*, meeting: Meeting, delivery_id: int) -> bool:
    """Staff checked that a notice marked unknown or given up did not arrive: send it again.

    Returns False (nothing changes) for a notice that is queued, in flight or sent.
    """
    requeued = delivery_requeue(
        NoticeDelivery.objects.filter(meeting=meeting, channel=DeliveryChannel.EMAIL), delivery_id
    )
    if requeued:
        from governance import tasks

        transaction.on_commit(lambda: tasks.dispatch_meeting_notice.delay(meeting.pk))
    return requeued


def notice_dispatch(*, meeting_id: int) -> None:
    """Queue one task per chunk of unsent email notices, and the postal batch."""
    from governance import tasks

    pending = list(
        NoticeDelivery.objects.filter(
            meeting_id=meeting_id,
            channel=DeliveryChannel.EMAIL,
            status__in=SENDABLE,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if pending:
        # Render the documents once per language here, before the chunks run side by side
        # and would each find them missing.
        meeting = Meeting.objects.get(pk=meeting_id)
        context = _meeting_context(meeting)
        languages = (
            NoticeDelivery.objects.filter(pk__in=pending)
            .values_list("member__preferred_language", flat=True)
            .distinct()
        )
        for language in {language or settings.LANGUAGE_CODE for language in languages}:
            notice_documents(meeting, language=language, context=context)
    size = settings.CLINIC_NOTICE_CHUNK_SIZE
    for start in range(0, len(pending), size):
        tasks.send_notice_chunk.delay(meeting_id, pending[start : start + size])
    if NoticeDelivery.objects.filter(
        meeting_id=meeting_id, channel=DeliveryChannel.POST, status=DeliveryStatus.QUEUED
    ).exists():
        tasks.render_postal_notices.delay(meeting_id)


def _meeting_context(meeting: Meeting) -> dict:
    ballots = list(
        meeting.ballots.filter(status__in=[BallotStatus.DRAFT, BallotStatus.OPEN]).order_by(
            "opens_at", "pk"
        )
    )
    for ballot in ballots:
        ballot.absolute_url = conf.absolute(reverse("governance:ballot_detail", args=[ballot.pk]))
    return {
        "meeting": meeting,
        "meeting_url": conf.absolute(reverse("governance:meeting_detail", args=[meeting.pk])),
        "agenda": list(meeting.agenda_items.order_by("position")),
        "documents": list(meeting.documents.all()),
        "ballots": ballots,
        "notice_days": settings.CLINIC_NOTICE_PERIOD_DAYS,
        # The notice is dated the day it is given (a part of the documents' digest, so a
        # notice rendered on an earlier day is not reused).
        "notice_date": timezone.localdate(),
        "CLINIC_NAME": settings.CLINIC_NAME,
        "CLINIC_ADDRESS": settings.CLINIC_ADDRESS,
    }


def meeting_calendar(meeting: Meeting, *, context: dict | None = None) -> bytes:
    """The meeting as an iCalendar event published by the clinic, in its time zone.

    METHOD:PUBLISH (an announcement, no replies expected) is repeated as the ``method=``
    parameter of the mail part; the UID carries the installation's domain so two clinics'
    meetings never collide in a member's calendar.
    """
    import icalendar

    context = context or _meeting_context(meeting)
    start = timezone.localtime(meeting.starts_at)
    calendar = icalendar.Calendar()
    calendar.add("prodid", f"-//{settings.CLINIC_NAME}//Governance//EN")
    calendar.add("version", "2.0")
    calendar.add("method", CALENDAR_METHOD)
    event = icalendar.Event()
    event.add("uid", f"meeting-{meeting.pk}@{conf.site_domain()}")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", start)
    event.add("dtend", timezone.localtime(meeting.ends_at))
    event.add("summary", meeting.title)
    event.add("location", meeting.place or meeting.online_link)
    organizer = icalendar.vCalAddress(f"mailto:{parseaddr(settings.DEFAULT_FROM_EMAIL)[1]}")
    organizer.params["cn"] = icalendar.vText(settings.CLINIC_NAME)
    event.add("organizer", organizer)
    event.add("url", context["meeting_url"])
    event.add("description", render_to_string("governance/email/agenda.txt", context).strip())
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


CALENDAR_METHOD = "PUBLISH"


def meeting_notice_pdf(meeting: Meeting, *, context: dict | None = None) -> bytes:
    return render_pdf("governance/pdf/notice.html", context or _meeting_context(meeting))


# Rendered notice documents are kept a week: longer than any notice's fan-out and retries.
NOTICE_DOCUMENTS_SECONDS = 7 * 24 * 3600


def _fingerprint(context: dict) -> str:
    """A digest of every stored value the notice documents are rendered from: a meeting,
    agenda item, document or ballot changed since a rendering gives another digest."""
    rows = [context["meeting"], *context["agenda"], *context["documents"], *context["ballots"]]
    values = [
        (row._meta.label, [(f.attname, str(getattr(row, f.attname))) for f in row._meta.fields])
        for row in rows
    ]
    values.append(
        (
            context["meeting_url"],
            context["notice_days"],
            context["notice_date"],
            context["CLINIC_NAME"],
        )
    )
    return hashlib.sha256(repr(values).encode()).hexdigest()


def notice_documents(meeting: Meeting, *, language: str, context: dict) -> tuple[bytes, bytes]:
    """The notice's PDF and .ics in ``language``, rendered once per meeting and language.

    Kept in the cache under a digest of what they are rendered from, so every chunk of a
    notice (and every retry) reuses one rendering, and a meeting changed since renders anew.
    """
    key = f"notice-documents:{meeting.pk}:{language}:{_fingerprint(context)}"
    documents = cache.get(key)
    if documents is None:
        with translation.override(language):
            documents = (
                meeting_notice_pdf(meeting, context=context),
                meeting_calendar(meeting, context=context),
            )
        cache.set(key, documents, NOTICE_DOCUMENTS_SECONDS)
    return documents


def _notice_parts(*, pdf: bytes, ics: bytes) -> list[MIMEBase]:
    """The notice's attachments as MIME parts (the PDF base64-encoded), built once per
    chunk and language and shared by its messages (``clinic.email.BulkEmail``)."""
    calendar_part = MIMEText(ics.decode(), "calendar", "utf-8")
    calendar_part.set_param("method", CALENDAR_METHOD)
    calendar_part.add_header("Content-Disposition", "attachment", filename="meeting.ics")
    pdf_part = MIMEApplication(pdf, "pdf")
    pdf_part.add_header("Content-Disposition", "attachment", filename="notice.pdf")
    return [calendar_part, pdf_part]


def _notice_email(context: dict, *, pdf: bytes, ics: bytes) -> BulkEmail:
    """The notice in the active language, for every member (``clinic.email.BulkEmail``)."""
    return BulkEmail(
        subject_template="governance/email/notice_subject.txt",
        text_template="governance/email/notice_body.txt",
        html_template="governance/email/notice_body.html",
        context=context,
        attachments=_notice_parts(pdf=pdf, ics=ics),
    )


def notice_send_chunk(
    *, meeting_id: int, delivery_ids: Iterable[int], final_attempt: bool = False
) -> int:
    """Mail each not-yet-sent notice of the chunk; returns how many failed.

    The chunk goes through ``clinic.delivery.deliver_batch``: rows claimed before they are
    sent and recorded after, a group at a time, so two workers, a retry or a database
    error after sending never mail the same member twice. The meeting's documents are
    rendered once per language, the email once per language for the chunk.
    """
    meeting = Meeting.objects.get(pk=meeting_id)
    context = _meeting_context(meeting)
    emails: dict[str, BulkEmail] = {}

    def build(delivery: NoticeDelivery) -> EmailMessage:
        member = delivery.member
        language = member.language
        if language not in emails:
            pdf, ics = notice_documents(meeting, language=language, context=context)
            with translation.override(language):
                emails[language] = _notice_email(context, pdf=pdf, ics=ics)
        return emails[language].message(
            name=member.full_name,
            to=[member.user.email],
            headers={"Content-Language": language},
        )

    outcome = deliver_batch(
        NoticeDelivery.objects.select_related("member__user").filter(
            meeting_id=meeting_id, channel=DeliveryChannel.EMAIL
        ),
        delivery_ids,
        build=build,
        final_attempt=final_attempt,
    )
    # Refused, or never handed over: the task retries them.
    return len(outcome.failed)


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


def _check_ballot(
    *,
    kind: str,
    majority_rule: str,
    record_date: datetime.date,
    opens_at: datetime.datetime,
    closes_at: datetime.datetime,
    seats: int,
    candidates: list[Member],
) -> int:
    """The rules a draft ballot must satisfy; returns the number of seats to store."""
    if closes_at <= opens_at:
        raise ValidationError({"closes_at": _("The ballot must close after it opens.")})
    # The voters are those in good standing on the record date, fixed at opening: the date
    # must be over by then, or a member's standing could still change after the snapshot.
    if record_date >= timezone.localtime(opens_at).date():
        raise ValidationError(
            {"record_date": _("The record date must be before the day the ballot opens.")}
        )
    if kind == BallotKind.MOTION:
        if majority_rule not in (MajorityRule.SIMPLE, MajorityRule.TWO_THIRDS):
            raise ValidationError(
                {"majority_rule": _("A motion is decided by simple or two-thirds majority.")}
            )
        return 1
    if majority_rule != MajorityRule.PLURALITY:
        raise ValidationError({"majority_rule": _("An election is decided by plurality.")})
    if len(candidates) < 1:
        raise ValidationError({"candidates": _("An election needs candidates.")})
    if seats > len(candidates):
        raise ValidationError({"seats": _("Voters cannot choose more candidates than there are.")})
    return seats


def _ballot_options(ballot: Ballot, candidates: list[Member]) -> None:
    if ballot.kind == BallotKind.MOTION:
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
    seats = _check_ballot(
        kind=kind,
        majority_rule=majority_rule,
        record_date=record_date,
        opens_at=opens_at,
        closes_at=closes_at,
        seats=seats,
        candidates=candidates,
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
    _ballot_options(ballot, candidates)
    return ballot


@transaction.atomic
def ballot_update(
    *,
    ballot: Ballot,
    title: str,
    description: str,
    majority_rule: str,
    record_date: datetime.date,
    opens_at: datetime.datetime,
    closes_at: datetime.datetime,
    seats: int = 1,
    quorum: Decimal | None = None,
    allow_proxies: bool = False,
    candidates: Iterable[Member] = (),
) -> Ballot:
    """Edit a draft ballot. Once it opens, voters have seen it: nothing changes any more."""
    ballot = Ballot.objects.select_for_update().get(pk=ballot.pk)
    if ballot.status != BallotStatus.DRAFT:
        raise ValidationError(_("Only a draft ballot can be edited; this one has opened."))
    candidates = list(candidates)
    ballot.seats = _check_ballot(
        kind=ballot.kind,
        majority_rule=majority_rule,
        record_date=record_date,
        opens_at=opens_at,
        closes_at=closes_at,
        seats=seats,
        candidates=candidates,
    )
    ballot.title, ballot.description, ballot.majority_rule = title, description, majority_rule
    ballot.record_date, ballot.opens_at, ballot.closes_at = record_date, opens_at, closes_at
    ballot.quorum = settings.CLINIC_DEFAULT_QUORUM if quorum is None else quorum
    ballot.allow_proxies = allow_proxies
    ballot.save()
    if ballot.kind == BallotKind.ELECTION:
        ballot.options.all().delete()
        _ballot_options(ballot, candidates)
    return ballot


_BALLOT_MOVES = {
    BallotStatus.DRAFT: {BallotStatus.OPEN, BallotStatus.CANCELLED},
    BallotStatus.OPEN: {BallotStatus.CLOSED, BallotStatus.CANCELLED},
    BallotStatus.CLOSED: set(),
    BallotStatus.CANCELLED: set(),
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


def ballot_voters_on(ballot: Ballot) -> QuerySet[Member]:
    """Who may vote: board members for a board meeting's ballot, otherwise members in good
    standing, both as on the record date."""
    if ballot.meeting_id and ballot.meeting.kind == MeetingKind.BOARD:
        on = ballot.record_date
        return Member.objects.filter(
            pk__in=BoardTerm.objects.filter(starts_on__lte=on, ends_on__gte=on).values("member")
        )
    return members_in_good_standing(on=ballot.record_date)


@transaction.atomic
def ballot_open(*, ballot: Ballot) -> Ballot:
    """Open the ballot and fix its list of eligible voters, then email each of them."""
    ballot = (
        Ballot.objects.select_for_update(of=("self",)).select_related("meeting").get(pk=ballot.pk)
    )
    now = timezone.now()
    if now < ballot.opens_at:
        raise ValidationError(_("This ballot cannot open before its opening time."))
    if timezone.localdate(now) <= ballot.record_date:
        raise ValidationError(
            _("This ballot cannot open until its record date (%(date)s) has passed.")
            % {"date": ballot.record_date.isoformat()}
        )
    if now >= ballot.closes_at:
        raise ValidationError(_("This ballot's closing time has passed; it cannot open."))
    _ballot_transition(ballot, BallotStatus.OPEN)
    member_ids = list(ballot_voters_on(ballot).order_by().values_list("pk", flat=True))
    EligibleVoter.objects.bulk_create(
        [EligibleVoter(ballot=ballot, member_id=pk) for pk in member_ids], batch_size=1000
    )
    BallotMail.objects.bulk_create(
        [BallotMail(ballot=ballot, member_id=pk, kind=BallotMailKind.OPENED) for pk in member_ids],
        batch_size=1000,
        ignore_conflicts=True,
    )
    ballot.eligible_count = len(member_ids)
    ballot.opened_at = now
    ballot.save(update_fields=["status", "eligible_count", "opened_at"])
    from governance import tasks

    transaction.on_commit(
        lambda: tasks.dispatch_ballot_mail.delay(ballot.pk, BallotMailKind.OPENED)
    )
    return ballot


# The secret ballot's storage. See docs/ballot-secrecy.md for the threat model.


def _box_insert(ballot: Ballot, choices: list[tuple[str, list[int]]]) -> None:
    """Put choices (receipt, option ids) into the ballot box in a random physical order.

    New random keys, no time: all rows of one call share this transaction's id, so the
    batch is the smallest set a database reader can narrow a choice down to.
    """
    shuffle = secrets.SystemRandom().shuffle
    choices = list(choices)
    shuffle(choices)
    casts = [CastBallot(ballot=ballot, receipt=receipt) for receipt, _options in choices]
    marks = [
        BallotMark(cast_ballot=cast, option_id=option_id)
        for cast, (_receipt, option_ids) in zip(casts, choices, strict=True)
        for option_id in option_ids
    ]
    shuffle(marks)
    CastBallot.objects.bulk_create(casts, batch_size=2000)
    BallotMark.objects.bulk_create(marks, batch_size=2000)


def _pool_take(ballot: Ballot) -> list[tuple[str, list[int]]]:
    """Remove and return every pooled choice of the ballot (the ballot row is locked)."""
    pending = list(
        PendingChoice.objects.filter(ballot=ballot).order_by().values_list("receipt", "option_ids")
    )
    PendingChoice.objects.filter(ballot=ballot).delete()
    return pending


@transaction.atomic
def ballot_box_flush(*, ballot_id: int) -> int:
    """Move the ballot's pooled choices into the box if there are at least a batch of them.

    Runs in its own transaction (never the voter's) and rewrites the secret tables before
    it commits, so the deleted pool rows, which carried the voters' transaction ids, never
    exist in any committed page. Returns how many choices moved.
    """
    ballot = Ballot.objects.select_for_update().get(pk=ballot_id)
    if ballot.status != BallotStatus.OPEN:
        return 0
    if PendingChoice.objects.filter(ballot=ballot).count() < conf.ballot_batch_size():
        return 0
    ballot_box_rewrite_allowed()
    pending = _pool_take(ballot)
    _box_insert(ballot, pending)
    ballot_tables_rewrite()
    return len(pending)


def ballot_boxes_flush_due() -> int:
    """Periodic: flush every open ballot whose pool holds a batch."""
    ids = list(Ballot.objects.filter(status=BallotStatus.OPEN).values_list("pk", flat=True))
    return sum(ballot_box_flush(ballot_id=pk) for pk in ids)


SECRET_TABLES = (PendingChoice, CastBallot, BallotMark)


def ballot_box_rewrite_allowed() -> None:
    """Let this transaction delete from and truncate the pool and the box, until the rewrite
    ends (``ballot_tables_rewrite``) or the transaction does.

    PostgreSQL refuses UPDATE always, and DELETE and TRUNCATE of those tables unless the
    transaction-local setting is on (governance 0005). Only the flush, the close and the
    cancel call this, with the ballot's row locked.
    """
    rewrite_window_open(BALLOT_BOX_REWRITE)
    if db_connection.vendor == "postgresql":
        with db_connection.cursor() as cursor:
            cursor.execute("SET LOCAL clinic.ballot_box_rewrite = 'on'")


@transaction.atomic
def ballot_tables_rewrite() -> None:
    """Rewrite the pool and the box into new files: live rows only, in a random order,
    all stamped with this transaction's id.

    A DELETE only marks a row dead: its bytes, with the transaction id that wrote it, stay
    in the page until vacuumed, and VACUUM keeps them as long as any older snapshot
    anywhere in the database might still see them. TRUNCATE does not wait for snapshots:
    it gives the tables new, empty files (the old ones are unlinked at commit), into which
    the live rows are copied back in a random order. Run inside the transaction that
    deleted the rows, no dead row is ever committed. Callers hold the ballot's lock; the
    tables are locked in the order every writer uses (pool, box, marks), so a vote or a
    batch in progress is waited for, never deadlocked with.
    """
    if db_connection.vendor != "postgresql":
        rewrite_window_close(BALLOT_BOX_REWRITE)
        return
    quote = db_connection.ops.quote_name
    tables = [quote(m._meta.db_table) for m in SECRET_TABLES]
    copies = [quote(f"rewrite_{m._meta.model_name}") for m in SECRET_TABLES]
    with db_connection.cursor() as cursor:
        # Django's foreign keys are checked at commit; TRUNCATE refuses a table with checks
        # still pending, so run them now (and defer them again afterwards).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE")
        for table, copy in zip(tables, copies, strict=True):
            cursor.execute(f"CREATE TEMPORARY TABLE {copy} ON COMMIT DROP AS TABLE {table}")
        cursor.execute(f"TRUNCATE {', '.join(tables)}")
        # The box before its marks (foreign key), each in an order nobody chose. The names
        # are the models' own tables, quoted: nothing here comes from a request.
        for table, copy in zip(tables, copies, strict=True):
            cursor.execute(f"INSERT INTO {table} SELECT * FROM {copy} ORDER BY random()")  # noqa: S608  # nosec B608
        cursor.execute(f"DROP TABLE {', '.join(copies)}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        # The rewrite is done: the rest of the transaction may not delete from the box.
        cursor.execute("SET LOCAL clinic.ballot_box_rewrite = 'off'")
    rewrite_window_close(BALLOT_BOX_REWRITE)


def sqlite_vacuum() -> None:
    """SQLite (the demo) keeps deleted rows in free pages until VACUUM, outside transactions."""
    if db_connection.vendor == "sqlite" and not db_connection.in_atomic_block:
        with db_connection.cursor() as cursor:
            cursor.execute("VACUUM")


@transaction.atomic
def ballot_close(*, ballot: Ballot) -> Ballot:
    """Close the ballot: the rest of the pool enters the box and the tables are rewritten,
    in this one transaction, so every box row of the ballot has one transaction id, a
    random position and a new key, and no earlier copy exists."""
    ballot = Ballot.objects.select_for_update().get(pk=ballot.pk)
    _ballot_transition(ballot, BallotStatus.CLOSED)
    ballot.closed_at = timezone.now()
    ballot.save(update_fields=["status", "closed_at"])
    ballot_box_rewrite_allowed()
    _box_insert(ballot, _pool_take(ballot))
    _reshuffle_cast_ballots(ballot)
    ballot_tables_rewrite()
    transaction.on_commit(sqlite_vacuum)
    from governance import tasks

    transaction.on_commit(lambda: tasks.render_ballot_results.delay(ballot.pk))
    return ballot


@transaction.atomic
def ballot_cancel(*, ballot: Ballot) -> Ballot:
    """Cancel a draft or open ballot: no result, and the choices cast so far are destroyed
    uncounted (who took part stays on record)."""
    ballot = Ballot.objects.select_for_update().get(pk=ballot.pk)
    _ballot_transition(ballot, BallotStatus.CANCELLED)
    ballot.closed_at = timezone.now()
    ballot.save(update_fields=["status", "closed_at"])
    ballot_box_rewrite_allowed()
    PendingChoice.objects.filter(ballot=ballot).delete()
    BallotMark.objects.filter(cast_ballot__ballot=ballot).delete()
    CastBallot.objects.filter(ballot=ballot).delete()
    BallotMail.objects.filter(ballot=ballot, status=DeliveryStatus.QUEUED).delete()
    ballot_tables_rewrite()
    transaction.on_commit(sqlite_vacuum)
    return ballot


def _reshuffle_cast_ballots(ballot: Ballot) -> None:
    """Rewrite the ballot's box in a random order, in this one transaction.

    Batches flushed while the ballot was open each carry their own transaction id; after
    this every row of the ballot carries the closing transaction's id and a random position,
    so not even the batch is left. Keys are new; receipts and choices stay as they were.
    """
    casts = list(CastBallot.objects.filter(ballot=ballot).values_list("id", "receipt"))
    options: dict = {}
    for cast_id, option_id in BallotMark.objects.filter(cast_ballot__ballot=ballot).values_list(
        "cast_ballot_id", "option_id"
    ):
        options.setdefault(cast_id, []).append(option_id)
    BallotMark.objects.filter(cast_ballot__ballot=ballot).delete()
    CastBallot.objects.filter(ballot=ballot).delete()
    _box_insert(ballot, [(receipt, options.get(pk, [])) for pk, receipt in casts])


def ballots_open_and_close_due() -> tuple[int, int]:
    """Periodic: open ballots whose time has come and close those whose time is up."""
    now = timezone.now()
    opened = closed = 0
    for ballot in Ballot.objects.filter(status=BallotStatus.OPEN, closes_at__lte=now):
        ballot_close(ballot=ballot)
        closed += 1
    for ballot in Ballot.objects.filter(
        status=BallotStatus.DRAFT,
        opens_at__lte=now,
        closes_at__gt=now,
        record_date__lt=timezone.localdate(now),
    ):
        ballot_open(ballot=ballot)
        opened += 1
    return opened, closed


def _new_receipt() -> str:
    code = "".join(secrets.choice(RECEIPT_ALPHABET) for _i in range(12))
    return "-".join(code[i : i + 4] for i in range(0, 12, 4))


def normalize_receipt(text: str) -> str:
    """A receipt as stored, from what a member typed: spaces, dashes and case do not matter."""
    code = "".join(c for c in text.upper() if c.isalnum())
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


@transaction.atomic
def vote_cast(*, ballot: Ballot, voter: Member, cast_by: Member, option_ids: Iterable[int]) -> str:
    """Record that ``voter`` took part and, apart from that, what was chosen.

    Returns the receipt code, which is shown once and stored only with the choice. The
    choice goes to the waiting room (``PendingChoice``), never straight into the box: this
    transaction's id is stamped on both rows, so the link lives only until the next batch
    moves the choice into the box (docs/ballot-secrecy.md).
    """
    # The lock keeps a vote, a batch move and the closing of the ballot from crossing.
    ballot = Ballot.objects.select_for_update().get(pk=ballot.pk)
    now = timezone.now()
    if ballot.status != BallotStatus.OPEN or not ballot.opens_at <= now < ballot.closes_at:
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
    PendingChoice.objects.create(ballot=ballot, receipt=receipt, option_ids=sorted(chosen))
    if PendingChoice.objects.filter(ballot=ballot).count() >= conf.ballot_batch_size():
        from governance import tasks

        transaction.on_commit(lambda: tasks.flush_ballot_box.delay(ballot.pk))
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
    from governance.charts import tally_chart
    from governance.selectors import ballot_tally, receipts

    ballot = (
        Ballot.objects.select_for_update(of=("self",)).select_related("meeting").get(pk=ballot_id)
    )
    if ballot.status != BallotStatus.CLOSED:
        raise ValidationError(_("Results exist only once the ballot has closed."))
    tally = ballot_tally(ballot)
    pdf = render_pdf(
        "governance/pdf/results.html",
        {
            "ballot": ballot,
            "tally": tally,
            "chart": tally_chart(tally),
            "receipts": list(receipts(ballot).values_list("receipt", flat=True)),
        },
    )
    ballot.results_pdf.save(f"ballot-results-{ballot.pk}.pdf", ContentFile(pdf), save=True)


# --- Ballot email -----------------------------------------------------------------------


def ballot_mail_dispatch(*, ballot_id: int, kind: str) -> None:
    """Queue one task per chunk of the ballot's unsent emails of one kind."""
    from governance import tasks

    pending = list(
        BallotMail.objects.filter(ballot_id=ballot_id, kind=kind, status__in=SENDABLE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    size = settings.CLINIC_NOTICE_CHUNK_SIZE
    for start in range(0, len(pending), size):
        tasks.send_ballot_mail_chunk.delay(ballot_id, pending[start : start + size])


@transaction.atomic
def ballot_reminders_queue(*, ballot_id: int) -> int:
    """Record one reminder for every eligible voter who has not voted; returns how many are new.

    Each member gets at most one reminder per ballot (the constraint), however often this runs.
    """
    ballot = Ballot.objects.select_for_update().get(pk=ballot_id)
    if ballot.status != BallotStatus.OPEN:
        return 0
    voted = Participation.objects.filter(ballot=ballot).values("voter")
    created = BallotMail.objects.bulk_create(
        [
            BallotMail(ballot=ballot, member_id=pk, kind=BallotMailKind.REMINDER)
            for pk in EligibleVoter.objects.filter(ballot=ballot)
            .exclude(member__in=voted)
            .exclude(
                member__in=BallotMail.objects.filter(
                    ballot=ballot, kind=BallotMailKind.REMINDER
                ).values("member")
            )
            .values_list("member_id", flat=True)
        ],
        ignore_conflicts=True,
    )
    if created:
        from governance import tasks

        transaction.on_commit(
            lambda: tasks.dispatch_ballot_mail.delay(ballot.pk, BallotMailKind.REMINDER)
        )
    return len(created)


def ballot_reminders_due(*, now: datetime.datetime | None = None) -> int:
    """Periodic: remind non-voters of ballots closing within CLINIC_BALLOT_REMINDER_DAYS,
    once (a ballot whose reminders were recorded is not looked at again)."""
    now = now or timezone.now()
    due = (
        Ballot.objects.filter(
            status=BallotStatus.OPEN,
            closes_at__gt=now,
            closes_at__lte=now + datetime.timedelta(days=conf.ballot_reminder_days()),
        )
        .exclude(mails__kind=BallotMailKind.REMINDER)
        .values_list("pk", flat=True)
    )
    return sum(ballot_reminders_queue(ballot_id=pk) for pk in list(due))


def _ballot_email(ballot: Ballot, kind: str) -> BulkEmail:
    """The ballot email of ``kind`` in the active language, for every voter."""
    name = "opened" if kind == BallotMailKind.OPENED else "reminder"
    return BulkEmail(
        subject_template=f"governance/email/ballot_{name}_subject.txt",
        text_template=f"governance/email/ballot_{name}_body.txt",
        html_template=f"governance/email/ballot_{name}_body.html",
        context={
            "ballot": ballot,
            "ballot_url": conf.absolute(reverse("governance:ballot_detail", args=[ballot.pk])),
            "CLINIC_NAME": settings.CLINIC_NAME,
        },
    )


def ballot_mail_send_chunk(
    *, ballot_id: int, mail_ids: Iterable[int], final_attempt: bool = False
) -> int:
    """Send each ballot email of the chunk once, in the member's language; returns failures
    (``clinic.delivery.deliver_batch``, as for notices)."""
    ballot = Ballot.objects.select_related("meeting").get(pk=ballot_id)
    emails: dict[tuple[str, str], BulkEmail] = {}

    def build(mail: BallotMail) -> EmailMessage:
        member = mail.member
        key = (mail.kind, member.language)
        if key not in emails:
            with translation.override(member.language):
                emails[key] = _ballot_email(ballot, mail.kind)
        return emails[key].message(
            name=member.full_name,
            to=[member.user.email],
            headers={"Content-Language": member.language},
        )

    outcome = deliver_batch(
        BallotMail.objects.select_related("member__user").filter(ballot_id=ballot_id),
        mail_ids,
        build=build,
        final_attempt=final_attempt,
    )
    return len(outcome.failed)


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
