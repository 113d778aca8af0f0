from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from clinic.delivery import EmailDelivery
from members.models import ImmutableModel


class Discipline(models.Model):
    """A clinical discipline; the clinic can add its own to the ones it starts with."""

    slug = models.SlugField(unique=True)
    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        verbose_name = _("discipline")
        verbose_name_plural = _("disciplines")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Practitioner(models.Model):
    """A salaried practitioner of one discipline (a clinician, or the hub coordinator)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="practitioner"
    )
    discipline = models.ForeignKey(
        Discipline, on_delete=models.PROTECT, related_name="practitioners"
    )
    registration_number = models.CharField(
        _("professional registration number"), max_length=64, blank=True
    )
    taking_new_members = models.BooleanField(_("taking new members"), default=True)

    class Meta:
        verbose_name = _("practitioner")
        verbose_name_plural = _("practitioners")

    def __str__(self) -> str:
        return f"{self.user} ({self.discipline})"


class TeamRole(models.TextChoices):
    PRACTITIONER = "practitioner", _("Practitioner")
    HUB_COORDINATOR = "hub_coordinator", _("Hub coordinator")


class CareTeamAssignment(models.Model):
    """One practitioner on one member's care team, from a date until it ends.

    A member's care team is their current assignments (``ended_on`` empty). Ended rows are
    the team's history and are never deleted.
    """

    member = models.ForeignKey(
        "members.Member", on_delete=models.PROTECT, related_name="care_team_assignments"
    )
    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.PROTECT, related_name="assignments"
    )
    role = models.CharField(
        _("role on the team"),
        max_length=16,
        choices=TeamRole.choices,
        default=TeamRole.PRACTITIONER,
    )
    started_on = models.DateField(_("from"))
    ended_on = models.DateField(_("until"), null=True, blank=True)
    end_reason = models.CharField(_("reason for ending"), max_length=200, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("care team assignment")
        verbose_name_plural = _("care team assignments")
        ordering = ["member", "-ended_on", "role", "started_on"]
        indexes = [models.Index(fields=["practitioner", "ended_on"])]
        constraints = [
            # The hub function is held by exactly one person at a time per member.
            models.UniqueConstraint(
                fields=["member"],
                condition=models.Q(role="hub_coordinator", ended_on__isnull=True),
                name="one_current_hub_coordinator_per_member",
            ),
            models.UniqueConstraint(
                fields=["member", "practitioner"],
                condition=models.Q(ended_on__isnull=True),
                name="practitioner_once_per_current_care_team",
            ),
            models.CheckConstraint(
                condition=models.Q(ended_on__isnull=True)
                | models.Q(ended_on__gte=models.F("started_on")),
                name="care_team_assignment_dates_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.practitioner} on the care team of {self.member}"


class ConsultationStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


class ConsultationRequest(ImmutableModel):
    """A practitioner asks another discipline, or a named colleague, about one arc."""

    # The workflow's columns: the rest never changes once asked (careteam 0007 in
    # PostgreSQL, which also keeps a given answer as it was written).
    MUTABLE_FIELDS = frozenset({"status", "closed_at", "answer", "answered_by", "answered_at"})

    arc = models.ForeignKey("arcs.Arc", on_delete=models.PROTECT, related_name="consultations")
    requested_by = models.ForeignKey(
        Practitioner, on_delete=models.PROTECT, related_name="consultations_requested"
    )
    to_discipline = models.ForeignKey(
        Discipline,
        on_delete=models.PROTECT,
        related_name="consultations",
        verbose_name=_("discipline"),
    )
    to_practitioner = models.ForeignKey(
        Practitioner,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="consultations_addressed",
        verbose_name=_("colleague"),
    )
    question = models.TextField(_("question"))
    answer = models.TextField(_("answer"), blank=True)
    answered_by = models.ForeignKey(
        Practitioner, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=ConsultationStatus.choices,
        default=ConsultationStatus.OPEN,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("consultation request")
        verbose_name_plural = _("consultation requests")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]
        constraints = [
            # The same rule as CONSULTATION_TRANSITIONS: an answered consultation has its
            # answer; an open one may be closed unanswered (withdrawn).
            models.CheckConstraint(
                condition=~models.Q(status="answered") | ~models.Q(answer=""),
                name="consultation_answered_has_answer",
            ),
        ]

    def __str__(self) -> str:
        return f"Consultation #{self.pk} ({self.get_status_display()})"


class NotificationKind(models.TextChoices):
    CONSULTATION_REQUESTED = "consultation_requested", _("Consultation requested")
    CONSULTATION_ANSWERED = "consultation_answered", _("Consultation answered")


class Notification(EmailDelivery):
    """An in-app notice to one person; the same notice is also sent by email once.

    The row is its own email delivery (``clinic.delivery``): sent with ``deliver_once``,
    and cancelled (``gave_up``) when the recipient leaves the member's care team.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    consultation = models.ForeignKey(
        ConsultationRequest, on_delete=models.CASCADE, related_name="notifications"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        constraints = [
            # One notice per person per event, however often the event is retried.
            models.UniqueConstraint(
                fields=["recipient", "consultation", "kind"], name="one_notification_per_event"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.recipient}"


class InterestStatus(models.TextChoices):
    NEW = "new", _("New")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


# The moves ``services.interest_answer`` and ``services.interest_close`` make.
INTEREST_TRANSITIONS: dict[str, frozenset[str]] = {
    InterestStatus.NEW: frozenset({InterestStatus.ANSWERED, InterestStatus.CLOSED}),
    InterestStatus.ANSWERED: frozenset({InterestStatus.CLOSED}),
    InterestStatus.CLOSED: frozenset(),
}


class ExpressionOfInterest(models.Model):
    """A practitioner who would like to work at the clinic, from the public "Practise here"
    page. The hub coordinator (who holds the care teams together) and the administrators
    (who employ people) read and answer it."""

    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"))
    # Blank: a discipline the clinic does not work with yet.
    discipline = models.ForeignKey(
        Discipline,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("discipline"),
    )
    message = models.TextField(_("message"))
    language = models.CharField(_("language"), max_length=10, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=InterestStatus.choices, default=InterestStatus.NEW
    )
    created_at = models.DateTimeField(_("received"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("expression of interest")
        verbose_name_plural = _("expressions of interest")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class InterestAnswer(EmailDelivery):
    """The clinic's answer to an expression of interest, and its delivery by email.

    One per expression of interest (the one-to-one key), so the answer is emailed once
    whatever the retries.
    """

    expression = models.OneToOneField(
        ExpressionOfInterest, on_delete=models.PROTECT, related_name="answer"
    )
    text = models.TextField(_("answer"))
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(_("answered"), auto_now_add=True)

    class Meta:
        verbose_name = _("answer to an expression of interest")

    def __str__(self) -> str:
        return f"Answer to {self.expression}"
