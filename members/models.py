from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from clinic.delivery import EmailDelivery
from clinic.money import CurrencyAmountsMixin


class MemberStatus(models.TextChoices):
    APPLICANT = "applicant", _("Applicant")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    LAPSED = "lapsed", _("Lapsed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    EXPELLED = "expelled", _("Expelled")
    DECEASED = "deceased", _("Deceased")
    # An application the administrators turned down: never admitted, so no number.
    REJECTED = "rejected", _("Application rejected")


# Every allowed move of the status machine, in one place (``services.member_change_status``
# enforces it). Admission (applicant -> active) happens only through ``member_approve``,
# which assigns the member number in the same transaction.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    MemberStatus.APPLICANT: frozenset({MemberStatus.ACTIVE, MemberStatus.REJECTED}),
    MemberStatus.ACTIVE: frozenset(
        {
            MemberStatus.SUSPENDED,
            MemberStatus.LAPSED,
            MemberStatus.WITHDRAWN,
            MemberStatus.DECEASED,
            MemberStatus.EXPELLED,
        }
    ),
    MemberStatus.SUSPENDED: frozenset(
        {
            MemberStatus.ACTIVE,
            MemberStatus.LAPSED,
            MemberStatus.WITHDRAWN,
            MemberStatus.DECEASED,
            MemberStatus.EXPELLED,
        }
    ),
    MemberStatus.LAPSED: frozenset(
        {MemberStatus.ACTIVE, MemberStatus.WITHDRAWN, MemberStatus.DECEASED, MemberStatus.EXPELLED}
    ),
    # A former member may apply again (readmission starts a new membership).
    MemberStatus.WITHDRAWN: frozenset({MemberStatus.APPLICANT}),
    MemberStatus.DECEASED: frozenset(),
    MemberStatus.EXPELLED: frozenset(),
    # A rejected applicant may apply again.
    MemberStatus.REJECTED: frozenset({MemberStatus.APPLICANT}),
}
# Statuses that end membership: the register shows the date ceased.
CEASED_STATUSES = frozenset({MemberStatus.WITHDRAWN, MemberStatus.DECEASED, MemberStatus.EXPELLED})
STATUSES_WITHOUT_NUMBER = frozenset({MemberStatus.APPLICANT, MemberStatus.REJECTED})
# Admitted and not ceased: still members, whatever their standing (suspended, lapsed).
CURRENT_STATUSES = frozenset({MemberStatus.ACTIVE, MemberStatus.SUSPENDED, MemberStatus.LAPSED})


class PaymentMethod(models.TextChoices):
    FEE_PLAN = "fee_plan", _("I will pay a membership fee")
    ANCHOR = "anchor", _("An organization covers me (employer, cooperative, foundation...)")


class NoticeDelivery(models.TextChoices):
    EMAIL = "email", _("By email")
    POST = "post", _("By post")


def person_name(first_name: str, last_name: str, email: str) -> str:
    """A member's name as ``Member.full_name`` gives it (the user's full name, else their
    email), from the user's columns: for reads of thousands of members that build no model
    (the invoice run's drafting)."""
    return f"{first_name} {last_name}".strip() or email


class Member(models.Model):
    """A person in the register of members, from application onwards."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="member"
    )
    # Given on admission: sequential, never reused, never skipped.
    number = models.PositiveIntegerField(_("member number"), unique=True, null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=MemberStatus.choices, default=MemberStatus.APPLICANT
    )
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    address = models.TextField(_("address"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=10, choices=settings.LANGUAGES, blank=True
    )
    notice_delivery = models.CharField(
        _("general meeting notices"),
        max_length=8,
        choices=NoticeDelivery.choices,
        default=NoticeDelivery.EMAIL,
    )
    applied_on = models.DateField(_("date applied"), default=timezone.localdate)
    admitted_on = models.DateField(_("date admitted"), null=True, blank=True)
    ceased_on = models.DateField(_("date ceased"), null=True, blank=True)
    orientation_attended_on = models.DateField(
        _("orientation session attended"), null=True, blank=True
    )
    # What the applicant asked for when they applied; the office confirms it on approval.
    payment_method = models.CharField(
        _("how they pay"),
        max_length=16,
        choices=PaymentMethod.choices,
        default=PaymentMethod.FEE_PLAN,
    )
    requested_fee_plan = models.ForeignKey(
        "FeePlan",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("fee plan asked for"),
    )
    anchor_organization_name = models.CharField(
        _("organization that covers them"), max_length=200, blank=True
    )
    rules_accepted_at = models.DateTimeField(_("agreed to the rules at"), null=True, blank=True)
    decision_reason = models.TextField(_("reason for rejection"), blank=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["number", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["applicant", "rejected"]) | Q(number__isnull=False),
                name="member_admitted_has_number",
            ),
        ]

    def __str__(self) -> str:
        return str(self.user)

    @property
    def full_name(self) -> str:
        return person_name(self.user.first_name, self.user.last_name, self.user.email)

    @property
    def language(self) -> str:
        return self.preferred_language or settings.LANGUAGE_CODE

    @property
    def language_name(self) -> str:
        """The language the member reads the clinic in, by name ("English"), never a code:
        the clinic's default when they chose none."""
        return str(dict(settings.LANGUAGES).get(self.language, self.language))


class FeePeriod(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    YEARLY = "yearly", _("Yearly")


# A plan's price: fixed once anyone is on the plan (issue 9: "prices already invoiced do not
# change"); a different price is a new plan.
FEE_PLAN_PRICE_FIELDS = ("amount", "period", "currency")
FEE_PLAN_PRICE_FIXED_MESSAGE = _(
    "This fee plan is assigned to members, so its amount, period and currency cannot "
    "change. Create a new plan and move the members to it."
)


class FeePlan(CurrencyAmountsMixin, models.Model):
    """A membership fee: a predictable amount per period. Sliding-scale tiers are plans too."""

    MONEY_FIELDS = ("amount",)

    name = models.CharField(_("name"), max_length=100, unique=True)
    amount = models.DecimalField(
        _("amount"), max_digits=15, decimal_places=4, validators=[MinValueValidator(Decimal(0))]
    )
    currency = models.CharField(_("currency"), max_length=3, default="")
    period = models.CharField(_("period"), max_length=8, choices=FeePeriod.choices)
    is_available = models.BooleanField(_("open to new members"), default=True)

    class Meta:
        verbose_name = _("fee plan")
        verbose_name_plural = _("fee plans")
        ordering = ["amount", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="fee_plan_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.amount} {self.currency} / {self.get_period_display()})"

    def save(self, *args, **kwargs) -> None:
        # The currency is explicit on every amount; it defaults to the clinic's own.
        self.currency = (self.currency or settings.CLINIC_CURRENCY).upper()
        if self.pk is not None and self.assignments.exists():
            # Invoices already issued were priced from these; a trigger refuses the same on
            # PostgreSQL (members_fee_plan_price_fixed_once_assigned).
            stored = FeePlan.objects.filter(pk=self.pk).values(*FEE_PLAN_PRICE_FIELDS).first()
            if stored and any(stored[f] != getattr(self, f) for f in FEE_PLAN_PRICE_FIELDS):
                raise ValidationError(FEE_PLAN_PRICE_FIXED_MESSAGE)
        super().save(*args, **kwargs)


class FeePlanAssignment(models.Model):
    """A member is on one plan at a time; the history of plans is kept with dates."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="fee_plans")
    plan = models.ForeignKey(FeePlan, on_delete=models.PROTECT, related_name="assignments")
    valid_from = models.DateField(_("from"))
    valid_to = models.DateField(_("to"), null=True, blank=True)

    class Meta:
        verbose_name = _("fee plan assignment")
        ordering = ["member", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(valid_to__isnull=True),
                name="one_open_fee_plan_per_member",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="fee_plan_assignment_dates_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member}: {self.plan} from {self.valid_from}"


class ShareClass(CurrencyAmountsMixin, models.Model):
    """A class of member shares, with the par value and minimum holding the rules set."""

    MONEY_FIELDS = ("par_value",)

    name = models.CharField(_("name"), max_length=100, unique=True)
    par_value = models.DecimalField(
        _("par value"), max_digits=15, decimal_places=4, validators=[MinValueValidator(Decimal(0))]
    )
    currency = models.CharField(_("currency"), max_length=3, default="")
    minimum_holding = models.PositiveIntegerField(_("minimum holding per member"), default=1)

    class Meta:
        verbose_name = _("share class")
        verbose_name_plural = _("share classes")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.currency = (self.currency or settings.CLINIC_CURRENCY).upper()
        super().save(*args, **kwargs)


class ImmutableQuerySet(models.QuerySet):
    """Issued documents and ledgers: bulk deletes are refused, and bulk updates of anything
    but the model's ``MUTABLE_FIELDS`` (the workflow state a service moves). PostgreSQL
    refuses the same with triggers; this is the guard the embedded SQLite demo relies on."""

    def update(self, **kwargs):
        if set(kwargs) - self.model.MUTABLE_FIELDS:
            raise ValidationError(
                _("%(model)s rows cannot be changed; record a correcting entry instead.")
                % {"model": capfirst(self.model._meta.verbose_name)}
            )
        return super().update(**kwargs)

    def delete(self):
        raise ValidationError(
            _("%(model)s rows cannot be deleted; record a correcting entry instead.")
            % {"model": capfirst(self.model._meta.verbose_name)}
        )


class ImmutableModel(models.Model):
    """A row written once: saving it again may change only ``MUTABLE_FIELDS`` (named in
    ``update_fields``), and it is never deleted."""

    MUTABLE_FIELDS: frozenset[str] = frozenset()

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        update_fields = kwargs.get("update_fields")
        if not self._state.adding and not (
            update_fields and set(update_fields) <= self.MUTABLE_FIELDS
        ):
            raise ValidationError(
                _("%(model)s rows cannot be changed; record a correcting entry instead.")
                % {"model": capfirst(self._meta.verbose_name)}
            )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(
            _("%(model)s rows cannot be deleted; record a correcting entry instead.")
            % {"model": capfirst(self._meta.verbose_name)}
        )


class AppendOnlyQuerySet(models.QuerySet):
    """The ledger is append-only: bulk updates and deletes are refused, not just hidden."""

    def update(self, **kwargs):
        raise ValidationError(_("Ledger entries cannot be changed; record a reversal instead."))

    def delete(self):
        raise ValidationError(_("Ledger entries cannot be deleted; record a reversal instead."))


class ShareLedgerKind(models.TextChoices):
    SUBSCRIPTION = "subscription", _("Subscription")
    PAYMENT = "payment", _("Payment")
    TRANSFER_IN = "transfer_in", _("Transfer in")
    TRANSFER_OUT = "transfer_out", _("Transfer out")
    REDEMPTION = "redemption", _("Redemption")
    REVERSAL = "reversal", _("Reversal")


class ShareLedgerEntry(CurrencyAmountsMixin, models.Model):
    """One line of the share register. Holdings and share capital are sums of these.

    ``quantity`` is signed: subscriptions and transfers in add shares, transfers out and
    redemptions remove them. ``amount`` is the money that moved (paid in, or paid back on
    redemption, negative). A correction is a reversal entry that negates another.
    """

    MONEY_FIELDS = ("amount",)

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="share_entries")
    share_class = models.ForeignKey(ShareClass, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(_("kind"), max_length=16, choices=ShareLedgerKind.choices)
    quantity = models.IntegerField(_("shares"), default=0)
    amount = models.DecimalField(_("amount"), max_digits=15, decimal_places=4, default=Decimal(0))
    currency = models.CharField(_("currency"), max_length=3)
    entry_date = models.DateField(_("date"), default=timezone.localdate)
    # Both sides of a transfer share one reference.
    reference = models.CharField(_("reference"), max_length=64, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("share ledger entry")
        verbose_name_plural = _("share ledger entries")
        ordering = ["entry_date", "pk"]
        indexes = [models.Index(fields=["member", "share_class"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="reversal") | Q(reverses__isnull=True),
                name="share_ledger_only_reversals_reverse",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entry_date} {self.get_kind_display()} {self.quantity:+d} ({self.member})"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValidationError(_("Ledger entries cannot be changed; record a reversal instead."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("Ledger entries cannot be deleted; record a reversal instead."))


class MemberStatusEvent(ImmutableModel):
    """One change of a member's status: when it took effect, who recorded it and why.

    Written only by ``services.member_change_status`` in the transaction that changes the
    status, so the history explains every status and "active on a date" can be answered
    for any past date (governance's record date).
    """

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="status_events")
    from_status = models.CharField(
        _("from"), max_length=16, choices=MemberStatus.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=16, choices=MemberStatus.choices)
    effective_on = models.DateField(_("effective on"))
    reason = models.TextField(_("reason"), blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )

    class Meta:
        verbose_name = _("member status change")
        verbose_name_plural = _("member status changes")
        ordering = ["effective_on", "pk"]
        indexes = [models.Index(fields=["member", "effective_on"])]

    def __str__(self) -> str:
        return f"{self.effective_on} {self.from_status or '-'} -> {self.to_status} ({self.member})"


class MemberNumberSequence(models.Model):
    """The last member number given. One row, locked while a number is assigned.

    Numbers come from here rather than ``max(number) + 1`` so that a number is never
    reused, even when the member holding the highest one is removed from the register.
    """

    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("member number sequence")

    def __str__(self) -> str:
        return str(self.last_number)


def certificate_upload_to(instance: "ShareCertificate", filename: str) -> str:
    return f"members/certificates/{instance.member_id}/{filename}"


class ShareCertificate(models.Model):
    """A member's holding of one share class as certified at one point of the ledger.

    Keyed by the last ledger entry it reflects and a version, so asking twice for the same
    holding gives the same certificate (and rendering it again is a no-op). A reissue (a
    lost or damaged certificate) is a new version of the same holding; a certificate of a
    holding that changed since, or reissued, is kept and marked superseded.
    """

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="certificates")
    share_class = models.ForeignKey(ShareClass, on_delete=models.PROTECT, related_name="+")
    last_entry = models.ForeignKey(ShareLedgerEntry, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(_("version"), default=1)
    quantity = models.PositiveIntegerField(_("shares"))
    issued_on = models.DateField(_("date"), default=timezone.localdate)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    superseded_by = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="supersedes"
    )
    superseded_on = models.DateField(_("superseded on"), null=True, blank=True)
    file = models.FileField(_("PDF"), upload_to=certificate_upload_to, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("share certificate")
        verbose_name_plural = _("share certificates")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "share_class", "last_entry", "version"],
                name="one_certificate_per_holding_version",
            ),
            # One certificate in force per member and share class.
            models.UniqueConstraint(
                fields=["member", "share_class"],
                condition=models.Q(superseded_on__isnull=True),
                name="one_current_certificate_per_share_class",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number}: {self.quantity} x {self.share_class} ({self.member})"

    @property
    def number(self) -> str:
        return f"SC-{self.pk:06d}"


class RegisterExport(models.Model):
    """The register of members as a PDF, rendered by a worker and kept for download."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    file = models.FileField(_("PDF"), upload_to="members/register/", blank=True)

    class Meta:
        verbose_name = _("register export")
        verbose_name_plural = _("register exports")
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"Register {self.requested_at:%Y-%m-%d %H:%M}"


class MemberEmailKind(models.TextChoices):
    WELCOME = "welcome", _("Welcome")
    REJECTION = "rejection", _("Application rejected")
    ALREADY_REGISTERED = "already_registered", _("Address already registered")


class MemberEmail(EmailDelivery):
    """One email of the register to a person (welcome, rejection, "already registered") and
    its delivery.

    Written in the transaction that decides it and sent only through
    ``clinic.delivery.deliver_once``: at most once, "unknown" when an attempt may have
    reached the mail server without its outcome being recorded.
    """

    kind = models.CharField(_("kind"), max_length=20, choices=MemberEmailKind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, null=True, blank=True, related_name="emails"
    )
    # The admission or rejection the email is about: one email per decision, whatever the
    # retries or duplicate tasks. "Already registered" emails answer one application each.
    status_event = models.ForeignKey(
        MemberStatusEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recipient = models.EmailField(_("to"))
    # Where the welcome email's set-password link points (the site the office approved on).
    base_url = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("member email")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "status_event"],
                condition=Q(status_event__isnull=False),
                name="one_member_email_per_decision",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient}"


class OrientationSession(models.Model):
    """A cooperative-education session for new and prospective members.

    Members record that they attended on their own record (``Member.orientation_attended_on``,
    which the register's "missed orientation" filter reads); a session is what the public
    home offers and what people register for, with or without an account.
    """

    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    place = models.CharField(_("place"), max_length=200)
    capacity = models.PositiveIntegerField(_("places"))
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("orientation session")
        verbose_name_plural = _("orientation sessions")
        ordering = ["starts_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="orientation_session_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(capacity__gte=1), name="orientation_session_has_places"
            ),
        ]

    def __str__(self) -> str:
        return f"{timezone.localtime(self.starts_at):%Y-%m-%d %H:%M} {self.place}"


class OrientationRegistration(EmailDelivery):
    """One person's place at a session, and the delivery of its confirmation email.

    The confirmation is this row's delivery state, so there is exactly one per
    registration; one registration per address and session (case-insensitive).
    """

    session = models.ForeignKey(
        OrientationSession, on_delete=models.PROTECT, related_name="registrations"
    )
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"))
    # The language the person registered in: the confirmation is written in it.
    language = models.CharField(_("language"), max_length=10, blank=True)
    registered_at = models.DateTimeField(_("registered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("orientation registration")
        verbose_name_plural = _("orientation registrations")
        ordering = ["registered_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                models.F("session"),
                Lower("email"),
                name="one_orientation_registration_per_address",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}> ({self.session})"
