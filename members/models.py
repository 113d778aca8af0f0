from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MemberStatus(models.TextChoices):
    APPLICANT = "applicant", _("Applicant")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    LAPSED = "lapsed", _("Lapsed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    DECEASED = "deceased", _("Deceased")


class NoticeDelivery(models.TextChoices):
    EMAIL = "email", _("By email")
    POST = "post", _("By post")


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

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["number", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="applicant") | Q(number__isnull=False),
                name="member_admitted_has_number",
            ),
        ]

    def __str__(self) -> str:
        return str(self.user)

    @property
    def full_name(self) -> str:
        return self.user.get_full_name() or self.user.email

    @property
    def language(self) -> str:
        return self.preferred_language or settings.LANGUAGE_CODE


class FeePeriod(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    YEARLY = "yearly", _("Yearly")


class FeePlan(models.Model):
    """A membership fee: a predictable amount per period. Sliding-scale tiers are plans too."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    amount = models.DecimalField(
        _("amount"), max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal(0))]
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


class ShareClass(models.Model):
    """A class of member shares, with the par value and minimum holding the rules set."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    par_value = models.DecimalField(
        _("par value"), max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal(0))]
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


class ShareLedgerEntry(models.Model):
    """One line of the share register. Holdings and share capital are sums of these.

    ``quantity`` is signed: subscriptions and transfers in add shares, transfers out and
    redemptions remove them. ``amount`` is the money that moved (paid in, or paid back on
    redemption, negative). A correction is a reversal entry that negates another.
    """

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="share_entries")
    share_class = models.ForeignKey(ShareClass, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(_("kind"), max_length=16, choices=ShareLedgerKind.choices)
    quantity = models.IntegerField(_("shares"), default=0)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2, default=Decimal(0))
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
