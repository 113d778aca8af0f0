"""General meetings, their notices, ballots and the board.

Secret ballot: who took part (``Participation``) and what was chosen live in separate
tables. A vote writes its participation and, in the same transaction, its choice into
the waiting room ``PendingChoice``; that row shares the vote's transaction id, so it is
moved into the ballot box (``CastBallot`` and its ``BallotMark`` rows) by a separate
transaction, in shuffled batches, and the tables are then rewritten so no dead copy stays.
The design and what a database reader can still learn: docs/ballot-secrecy.md.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.appendonly import rewrite_window_is_open
from clinic.delivery import DeliveryStatus, EmailDelivery
from members.models import ImmutableModel, Member


def _default_quorum() -> Decimal:
    return settings.CLINIC_DEFAULT_QUORUM


class MeetingKind(models.TextChoices):
    ANNUAL = "agm", _("Annual general meeting")
    SPECIAL = "special", _("Special general meeting")
    BOARD = "board", _("Board meeting")


GENERAL_MEETING_KINDS = frozenset({MeetingKind.ANNUAL, MeetingKind.SPECIAL})


class Meeting(models.Model):
    kind = models.CharField(_("kind"), max_length=8, choices=MeetingKind.choices)
    title = models.CharField(_("title"), max_length=200)
    starts_at = models.DateTimeField(_("date and time"))
    ends_at = models.DateTimeField(_("ends at"))
    place = models.CharField(_("place"), max_length=255, blank=True)
    online_link = models.URLField(_("online link"), blank=True)
    minutes = models.TextField(_("minutes"), blank=True)
    notice_sent_at = models.DateTimeField(_("notice sent"), null=True, blank=True)
    # Superseded by PostalNoticeBatch (one PDF per batch, none overwritten); kept, unused,
    # so that migrations stay additive. Drop it in a later release.
    postal_notices_pdf = models.FileField(
        _("postal notices"), upload_to="governance/postal/", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        ordering = ["-starts_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(place="") | ~Q(online_link=""), name="meeting_has_place_or_link"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="meeting_ends_after_it_starts"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_general(self) -> bool:
        return self.kind in GENERAL_MEETING_KINDS

    @property
    def ends_same_day(self) -> bool:
        return timezone.localdate(self.starts_at) == timezone.localdate(self.ends_at)


class AgendaItem(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda_items")
    position = models.PositiveSmallIntegerField(_("position"))
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("agenda item")
        ordering = ["meeting", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "position"], name="agenda_item_position_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"


class MeetingDocument(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(_("PDF file"), upload_to="governance/documents/")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("meeting document")
        ordering = ["meeting", "title", "pk"]

    def __str__(self) -> str:
        return self.title


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    POST = "post", _("Post")


# The shared delivery states (clinic.delivery), re-exported for governance's callers.
__all__ = ["DeliveryStatus"]


class PostalNoticeBatch(models.Model):
    """One printable PDF of addressed notices: every send that finds postal members adds one,
    so an earlier batch that is still to be printed is never overwritten."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="postal_batches")
    pdf = models.FileField(_("printable notices"), upload_to="governance/postal/")
    letters = models.PositiveIntegerField(_("letters"))
    created_at = models.DateTimeField(_("printed"), auto_now_add=True)

    class Meta:
        verbose_name = _("postal notice batch")
        verbose_name_plural = _("postal notice batches")
        ordering = ["meeting", "-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.meeting}: {self.letters}"


class NoticeDelivery(EmailDelivery):
    """One member's notice of one meeting: the constraint means nobody is noticed twice.

    Email notices go through ``clinic.delivery.deliver_batch`` (at most once, a chunk's
    rows claimed and recorded a group at a time); ``sent_at`` is when the sending was
    recorded, just after the mail left (its group's record), or when the letter was
    printed: what the notice period counts from, never earlier than the mail left.
    """

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="deliveries")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(_("channel"), max_length=8, choices=DeliveryChannel.choices)
    # For postal notices: the printable batch the member's letter is in.
    postal_batch = models.ForeignKey(
        PostalNoticeBatch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deliveries",
    )

    class Meta:
        verbose_name = _("notice delivery")
        verbose_name_plural = _("notice deliveries")
        ordering = ["meeting", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "member"], name="notice_delivery_once_per_member"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.meeting} → {self.member} ({self.status})"


class BallotKind(models.TextChoices):
    MOTION = "motion", _("Motion (for / against / abstain)")
    ELECTION = "election", _("Election (choose up to k of n candidates)")


class MajorityRule(models.TextChoices):
    SIMPLE = "simple", _("Simple majority")
    TWO_THIRDS = "two_thirds", _("Two-thirds majority (rule changes)")
    PLURALITY = "plurality", _("Plurality (elections)")


class BallotStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


class Ballot(models.Model):
    meeting = models.ForeignKey(
        Meeting, on_delete=models.PROTECT, null=True, blank=True, related_name="ballots"
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("text of the motion or election"), blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=BallotKind.choices)
    majority_rule = models.CharField(
        _("majority rule"), max_length=12, choices=MajorityRule.choices
    )
    seats = models.PositiveSmallIntegerField(_("choices per voter"), default=1)
    record_date = models.DateField(_("record date"))
    opens_at = models.DateTimeField(_("opens"))
    closes_at = models.DateTimeField(_("closes"))
    quorum = models.DecimalField(
        _("quorum"), max_digits=4, decimal_places=3, default=_default_quorum
    )
    allow_proxies = models.BooleanField(_("proxy voting allowed"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=BallotStatus.choices, default=BallotStatus.DRAFT
    )
    eligible_count = models.PositiveIntegerField(_("eligible voters"), default=0)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    results_pdf = models.FileField(upload_to="governance/results/", blank=True)
    board_applied = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("ballot")
        verbose_name_plural = _("ballots")
        ordering = ["-closes_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=F("opens_at")), name="ballot_closes_after_opening"
            ),
            models.CheckConstraint(
                condition=Q(quorum__gte=0) & Q(quorum__lte=1), name="ballot_quorum_is_a_share"
            ),
            models.CheckConstraint(condition=Q(seats__gte=1), name="ballot_at_least_one_seat"),
            models.CheckConstraint(
                condition=(Q(kind="motion") & Q(majority_rule__in=["simple", "two_thirds"]))
                | (Q(kind="election") & Q(majority_rule="plurality")),
                name="ballot_rule_fits_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.title


MOTION_CHOICE_LABELS = {"for": _("For"), "against": _("Against"), "abstain": _("Abstain")}


class BallotOption(models.Model):
    """For a motion: for, against, abstain. For an election: one per candidate."""

    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveSmallIntegerField()
    label = models.CharField(_("option"), max_length=200)
    # Set for election candidates, so the result can make them board members.
    candidate = models.ForeignKey(
        Member, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # For motions: "for", "against" or "abstain"; empty for candidates.
    motion_choice = models.CharField(max_length=8, blank=True)

    class Meta:
        verbose_name = _("ballot option")
        ordering = ["ballot", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["ballot", "position"], name="ballot_option_position_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.display_label

    @property
    def display_label(self) -> str:
        return str(MOTION_CHOICE_LABELS.get(self.motion_choice, self.label))


class EligibleVoter(ImmutableModel):
    """The list of voters, fixed when the ballot opens (members in good standing then)."""

    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="eligible_voters")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("eligible voter")
        constraints = [
            models.UniqueConstraint(fields=["ballot", "member"], name="eligible_voter_once"),
        ]

    def __str__(self) -> str:
        return f"{self.member} in {self.ballot}"


class Participation(ImmutableModel):
    """That a member took part (in person or through a proxy). Never what they chose.

    Deliberately no timestamp and no reference to the cast ballot or its receipt.
    """

    ballot = models.ForeignKey(Ballot, on_delete=models.PROTECT, related_name="participations")
    voter = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    # The member who submitted: the voter, or the proxy they appointed.
    cast_by = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("participation")
        constraints = [
            models.UniqueConstraint(fields=["ballot", "voter"], name="one_member_one_vote"),
        ]

    def __str__(self) -> str:
        return f"{self.voter} took part in {self.ballot}"


BALLOT_BOX_REWRITE = "ballot_box"


def _refuse_box_change(model, operation: str) -> ValidationError:
    return ValidationError(
        _(
            "%(operation)s on %(model)s refused: the ballot box changes only through its "
            "own rewrite."
        )
        % {"operation": operation, "model": model._meta.verbose_name}
    )


class BallotBoxQuerySet(models.QuerySet):
    """The ORM's guard on the pool and the box, as PostgreSQL's triggers (governance 0005)
    guard them: never updated, and deleted only inside the secrecy design's own rewrite
    (``services.ballot_box_rewrite_allowed`` until ``ballot_tables_rewrite`` ends it). It
    is what the embedded SQLite demo relies on."""

    def update(self, **kwargs):
        raise _refuse_box_change(self.model, "UPDATE")

    def delete(self):
        if not rewrite_window_is_open(BALLOT_BOX_REWRITE):
            raise _refuse_box_change(self.model, "DELETE")
        return super().delete()


class BallotBoxModel(models.Model):
    objects = BallotBoxQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise _refuse_box_change(type(self), "UPDATE")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if not rewrite_window_is_open(BALLOT_BOX_REWRITE):
            raise _refuse_box_change(type(self), "DELETE")
        return super().delete(*args, **kwargs)


class PendingChoice(BallotBoxModel):
    """A choice waiting to enter the ballot box: the waiting room of the secret ballot.

    Written in the same transaction as the voter's participation, so PostgreSQL stamps both
    with the same transaction id: that is why a choice never stays here. A separate
    transaction moves the pooled choices into the box in shuffled batches of at least
    ``CLINIC_BALLOT_BATCH_SIZE`` (the rest at close) and the table is then rewritten.
    Random key, no time, no voter.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ballot = models.ForeignKey(Ballot, on_delete=models.PROTECT, related_name="+")
    receipt = models.CharField(_("receipt"), max_length=32)
    option_ids = models.JSONField(_("options"))

    class Meta:
        verbose_name = _("pending choice")
        constraints = [
            models.UniqueConstraint(
                fields=["ballot", "receipt"], name="pending_choice_receipt_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.receipt


class CastBallot(BallotBoxModel):
    """What was chosen, anonymously: random key, random receipt, no time, no voter."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ballot = models.ForeignKey(Ballot, on_delete=models.PROTECT, related_name="cast_ballots")
    receipt = models.CharField(_("receipt"), max_length=32)

    class Meta:
        verbose_name = _("cast ballot")
        # Listed by receipt, never by the order in which they arrived.
        ordering = ["receipt"]
        constraints = [
            models.UniqueConstraint(
                fields=["ballot", "receipt"], name="cast_ballot_receipt_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.receipt


class BallotMark(BallotBoxModel):
    """One option marked on one cast ballot (an election ballot may mark up to k)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    cast_ballot = models.ForeignKey(CastBallot, on_delete=models.CASCADE, related_name="marks")
    option = models.ForeignKey(BallotOption, on_delete=models.PROTECT, related_name="marks")

    class Meta:
        verbose_name = _("ballot mark")
        constraints = [
            models.UniqueConstraint(fields=["cast_ballot", "option"], name="ballot_mark_once"),
        ]

    def __str__(self) -> str:
        return str(self.option_id)


class BallotMailKind(models.TextChoices):
    OPENED = "opened", _("Ballot open")
    REMINDER = "reminder", _("Reminder before closing")


class BallotMail(EmailDelivery):
    """One ballot email to one eligible voter: the constraint means each is sent once."""

    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="mails")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=8, choices=BallotMailKind.choices)

    class Meta:
        verbose_name = _("ballot email")
        verbose_name_plural = _("ballot emails")
        constraints = [
            models.UniqueConstraint(
                fields=["ballot", "member", "kind"], name="ballot_mail_once_per_member"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ballot} → {self.member} ({self.kind})"


class ProxyAppointment(models.Model):
    """A member lets another eligible member vote for them in one ballot."""

    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="proxies")
    grantor = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    proxy = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("proxy appointment")
        constraints = [
            models.UniqueConstraint(fields=["ballot", "grantor"], name="one_proxy_per_grantor"),
            models.CheckConstraint(condition=~Q(grantor=F("proxy")), name="proxy_is_someone_else"),
        ]

    def __str__(self) -> str:
        return f"{self.proxy} for {self.grantor}"


class BoardRole(models.TextChoices):
    CHAIR = "chair", _("Chair")
    SECRETARY = "secretary", _("Secretary")
    TREASURER = "treasurer", _("Treasurer")
    DIRECTOR = "director", _("Director")


class BoardTerm(ImmutableModel):
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="board_terms")
    role = models.CharField(_("role"), max_length=12, choices=BoardRole.choices)
    starts_on = models.DateField(_("term starts"))
    ends_on = models.DateField(_("term ends"))
    elected_in = models.ForeignKey(
        Ballot, on_delete=models.PROTECT, null=True, blank=True, related_name="board_terms"
    )

    class Meta:
        verbose_name = _("board term")
        ordering = ["role", "starts_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gt=F("starts_on")), name="board_term_ends_after_start"
            ),
            models.UniqueConstraint(
                fields=["elected_in", "member"],
                condition=Q(elected_in__isnull=False),
                name="board_term_once_per_election",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} ({self.get_role_display()})"
