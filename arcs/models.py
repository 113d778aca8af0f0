"""Arcs of care: a member's care oriented toward a defined endpoint.

An arc has measurable goals, phases, interventions by several disciplines, a review
cadence and outcome measures over time. Every change to its plan is kept as a version.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from members.models import ImmutableModel, ImmutableQuerySet


class ArcStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    ON_HOLD = "on_hold", _("On hold")
    ACHIEVED = "achieved", _("Achieved")
    DISCONTINUED = "discontinued", _("Discontinued")


# The arc's status machine, declared once: which statuses each status may move to.
ARC_TRANSITIONS: dict[str, frozenset[str]] = {
    ArcStatus.DRAFT: frozenset({ArcStatus.ACTIVE, ArcStatus.DISCONTINUED}),
    ArcStatus.ACTIVE: frozenset({ArcStatus.ON_HOLD, ArcStatus.ACHIEVED, ArcStatus.DISCONTINUED}),
    ArcStatus.ON_HOLD: frozenset({ArcStatus.ACTIVE, ArcStatus.DISCONTINUED}),
    ArcStatus.ACHIEVED: frozenset(),
    ArcStatus.DISCONTINUED: frozenset(),
}
CLOSED_STATUSES = frozenset({ArcStatus.ACHIEVED, ArcStatus.DISCONTINUED})
OPEN_STATUSES = frozenset({ArcStatus.ACTIVE, ArcStatus.ON_HOLD})


class Direction(models.TextChoices):
    LOWER_IS_BETTER = "lower", _("Lower is better")
    HIGHER_IS_BETTER = "higher", _("Higher is better")


class OutcomeMeasure(models.Model):
    """A kind of outcome measure (PHQ-9, walking distance…); the clinic can define its own."""

    # Generated from the name when the measure is defined (``outcome_measure_define``).
    slug = models.SlugField(unique=True)
    name = models.CharField(_("name"), max_length=100, unique=True)
    unit = models.CharField(_("unit"), max_length=32, blank=True)
    # The unit as UCUM writes it (``mm[Hg]``, ``{score}``), for the FHIR export; empty when
    # the unit has no UCUM form.
    ucum_code = models.CharField(
        _("UCUM code"),
        max_length=32,
        blank=True,
        help_text=_("The unit in UCUM: kg, m, mm[Hg], /min, {score}…"),
    )
    direction = models.CharField(
        _("direction of improvement"), max_length=8, choices=Direction.choices
    )
    loinc_code = models.CharField(_("LOINC code"), max_length=16, blank=True)
    # The values the measure can take: a value outside is a typing error, refused.
    min_value = models.DecimalField(_("lowest valid value"), max_digits=10, decimal_places=2)
    max_value = models.DecimalField(_("highest valid value"), max_digits=10, decimal_places=2)

    class Meta:
        verbose_name = _("outcome measure")
        verbose_name_plural = _("outcome measures")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_value__lt=models.F("max_value")),
                name="outcome_measure_range_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.unit})" if self.unit else self.name


class Arc(models.Model):
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="arcs")
    title = models.CharField(_("title"), max_length=200)
    endpoint = models.TextField(
        _("endpoint"), help_text=_("The defined endpoint, in plain language.")
    )
    lead_discipline = models.ForeignKey(
        "careteam.Discipline",
        on_delete=models.PROTECT,
        related_name="arcs",
        verbose_name=_("lead discipline"),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=ArcStatus.choices, default=ArcStatus.DRAFT
    )
    discontinued_reason = models.TextField(_("reason for discontinuing"), blank=True)
    review_every_days = models.PositiveIntegerField(_("review every (days)"), default=28)
    next_review_on = models.DateField(_("next review"), null=True, blank=True)
    # The first day the arc was active, and the day it was achieved or discontinued.
    activated_on = models.DateField(null=True, blank=True)
    closed_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Last note, measure or plan change: an arc with none for N days is stalled.
    last_activity_at = models.DateTimeField()

    class Meta:
        verbose_name = _("arc of care")
        verbose_name_plural = _("arcs of care")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "next_review_on"]),
            models.Index(fields=["status", "last_activity_at"]),
            models.Index(fields=["status", "closed_on"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="discontinued") | ~Q(discontinued_reason=""),
                name="arc_discontinued_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["achieved", "discontinued"]) | Q(closed_on__isnull=True),
                name="arc_only_closed_arcs_have_closed_on",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ArcStatusChange(models.Model):
    """One move of the status machine, kept for history and outcome reporting."""

    arc = models.ForeignKey(Arc, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=16, choices=ArcStatus.choices)
    to_status = models.CharField(max_length=16, choices=ArcStatus.choices)
    reason = models.TextField(blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["changed_at", "pk"]

    def __str__(self) -> str:
        return f"{self.arc}: {self.from_status} → {self.to_status}"


class ReviewOutcome(models.TextChoices):
    CONTINUE = "continue", _("Continue the plan as it is")
    CHANGE_PLAN = "change_plan", _("Change the plan")
    CLOSE = "close", _("Close the arc")


class ArcReview(ImmutableModel):
    """A review of the arc held with the member: what was found and what was decided.

    Written once (arcs 0009 in PostgreSQL). "Close" and "change the plan" are decisions;
    the arc closes through the status workflow and the plan changes through its forms.
    """

    arc = models.ForeignKey(Arc, on_delete=models.CASCADE, related_name="reviews")
    held_on = models.DateField(_("held on"))
    notes = models.TextField(_("review notes"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=ReviewOutcome.choices)
    next_review_on = models.DateField(_("next review"), null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        ordering = ["-held_on", "-pk"]

    def __str__(self) -> str:
        return f"Review of {self.arc} on {self.held_on}"


class PlanItem(models.Model):
    """A goal, phase or intervention of an arc's plan.

    Items are never deleted once in a plan: measures, versions and the member's record refer
    to them. Removing one from the plan stamps the day and the reason instead.
    """

    removed_on = models.DateField(_("removed from the plan on"), null=True, blank=True)
    removal_reason = models.CharField(_("reason for removing"), max_length=200, blank=True)

    class Meta:
        abstract = True

    @property
    def is_removed(self) -> bool:
        return self.removed_on is not None


class Goal(PlanItem):
    arc = models.ForeignKey(Arc, on_delete=models.CASCADE, related_name="goals")
    measure = models.ForeignKey(
        OutcomeMeasure, on_delete=models.PROTECT, related_name="goals", verbose_name=_("measure")
    )
    description = models.CharField(_("goal"), max_length=200)
    baseline = models.DecimalField(_("baseline"), max_digits=10, decimal_places=2)
    target = models.DecimalField(_("target"), max_digits=10, decimal_places=2)
    target_date = models.DateField(_("target date"))

    class Meta:
        verbose_name = _("goal")
        ordering = ["target_date", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(baseline=models.F("target")), name="goal_target_differs_from_baseline"
            ),
        ]

    def __str__(self) -> str:
        return self.description


class Phase(PlanItem):
    arc = models.ForeignKey(Arc, on_delete=models.CASCADE, related_name="phases")
    name = models.CharField(_("phase"), max_length=120)
    planned_start = models.DateField(_("planned start"))
    planned_end = models.DateField(_("planned end"))

    class Meta:
        verbose_name = _("phase")
        ordering = ["planned_start", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(planned_end__gte=models.F("planned_start")),
                name="phase_dates_in_order",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Intervention(PlanItem):
    arc = models.ForeignKey(Arc, on_delete=models.CASCADE, related_name="interventions")
    discipline = models.ForeignKey(
        "careteam.Discipline", on_delete=models.PROTECT, related_name="+",
        verbose_name=_("discipline"),
    )  # fmt: skip
    practitioner = models.ForeignKey(
        "careteam.Practitioner",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="interventions",
        verbose_name=_("responsible practitioner"),
    )
    description = models.CharField(_("intervention"), max_length=200)
    frequency = models.CharField(_("frequency"), max_length=100)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("to"), null=True, blank=True)

    class Meta:
        verbose_name = _("intervention")
        ordering = ["starts_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="intervention_dates_in_order",
            ),
        ]

    def __str__(self) -> str:
        return self.description


class MeasurementQuerySet(ImmutableQuerySet):
    def current(self) -> "MeasurementQuerySet":
        """The values that stand: neither struck out nor replaced by a correction."""
        superseded = Measurement.objects.filter(corrects=models.OuterRef("pk"))
        return self.filter(struck_out=False).filter(~models.Exists(superseded))

    def with_superseded(self) -> "MeasurementQuerySet":
        """Every row, each marked ``superseded`` when a later row corrects or strikes it."""
        superseded = Measurement.objects.filter(corrects=models.OuterRef("pk"))
        return self.annotate(superseded=models.Exists(superseded))


class Measurement(ImmutableModel):
    """One recorded value of an outcome measure on an arc.

    Append-only (arcs 0009 in PostgreSQL): a value entered in error is corrected by a new
    row pointing at it (``corrects``) with the right value and date, or struck out by a
    new row with no value; both carry the reason. The original stays in the history.
    """

    arc = models.ForeignKey(Arc, on_delete=models.CASCADE, related_name="measurements")
    measure = models.ForeignKey(
        OutcomeMeasure, on_delete=models.PROTECT, related_name="measurements",
        verbose_name=_("measure"),
    )  # fmt: skip
    value = models.DecimalField(_("value"), max_digits=10, decimal_places=2, null=True)
    measured_on = models.DateField(_("date measured"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    recorded_at = models.DateTimeField(auto_now_add=True)
    corrects = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="correction",
        verbose_name=_("corrects"),
    )
    struck_out = models.BooleanField(_("struck out"), default=False)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    objects = MeasurementQuerySet.as_manager()

    class Meta:
        verbose_name = _("measurement")
        ordering = ["measured_on", "pk"]
        indexes = [models.Index(fields=["arc", "measure", "measured_on"])]
        constraints = [
            # A value, unless the row strikes one out; only a correcting row strikes out.
            models.CheckConstraint(
                condition=Q(struck_out=False, value__isnull=False)
                | Q(struck_out=True, value__isnull=True, corrects__isnull=False),
                name="measurement_value_unless_struck_out",
            ),
            # A correction or a strike-out says why.
            models.CheckConstraint(
                condition=Q(corrects__isnull=True) | ~Q(reason=""),
                name="measurement_correction_has_reason",
            ),
        ]

    def __str__(self) -> str:
        if self.struck_out:
            return f"{self.measure.name} struck out on {self.measured_on}"
        return f"{self.measure.name} {self.value} on {self.measured_on}"


class NoteVisibility(models.TextChoices):
    SHARED = "shared", _("Shared with the member")
    INTERNAL = "internal", _("Internal to the care team")


class ProgressNote(ImmutableModel):
    arc = models.ForeignKey(Arc, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    text = models.TextField(_("note"))
    visibility = models.CharField(_("visibility"), max_length=8, choices=NoteVisibility.choices)
    written_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("progress note")
        ordering = ["-written_at", "-pk"]

    def __str__(self) -> str:
        return f"Note on {self.arc} ({self.visibility})"


class ArcVersion(ImmutableModel):
    """A snapshot of an arc's plan after one change: who, when, and what it was then."""

    arc = models.ForeignKey(Arc, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    summary = models.CharField(max_length=200)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["arc", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["arc", "number"], name="arc_version_numbers_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.arc} v{self.number}"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ValidationError(_("The access log is append-only."))

    def delete(self):
        raise ValidationError(_("The access log is append-only."))


class AccessAction(models.TextChoices):
    VIEW = "view", _("Viewed")
    CHANGE = "change", _("Changed")
    EXPORT = "export", _("Exported")
    LIST = "list", _("Listed")
    DENIED = "denied", _("Denied")


class AccessLogEntry(models.Model):
    """Who viewed, changed or exported which clinical record of which member, and when.

    Also who opened a list of members' clinical content ("list", no one member), and who
    was refused a clinical or financial record ("denied": the member is left empty, so a
    guessed id reveals nothing about whose record it would have been).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(
        "members.Member", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    action = models.CharField(max_length=8, choices=AccessAction.choices)
    record_type = models.CharField(max_length=40)
    record_id = models.PositiveBigIntegerField(null=True)
    detail = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log entries")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["member", "at"]), models.Index(fields=["user", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action} {self.record_type}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValidationError(_("The access log is append-only."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("The access log is append-only."))
