"""Reads of care teams, consultations and notifications, each a fixed number of queries."""

import datetime
import re

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy

from careteam.models import (
    CareTeamAssignment,
    ConsultationRequest,
    ConsultationStatus,
    Discipline,
    ExpressionOfInterest,
    Notification,
    NotificationKind,
    Practitioner,
    TeamRole,
)
from clinic import params
from clinic.delivery import SENDABLE, DeliveryStatus
from clinic.roles import Role, has_role
from members.models import Member


def current_assignments() -> QuerySet[CareTeamAssignment]:
    """Assignments in force now: a care team is its members' open assignments."""
    return CareTeamAssignment.objects.filter(ended_on__isnull=True)


def practitioner_for_user(user) -> Practitioner | None:
    if not user.is_authenticated:
        return None
    return Practitioner.objects.select_related("discipline", "user").filter(user=user).first()


def member_ids_in_care_of(user) -> QuerySet:
    """Ids of members whose current care team includes the user (usable as a subquery)."""
    return current_assignments().filter(practitioner__user=user).values("member_id")


def members_in_care_of(user) -> QuerySet[Member]:
    """Members whose CURRENT care team includes the user's practitioner profile."""
    if not user.is_authenticated:
        return Member.objects.none()
    return Member.objects.filter(pk__in=member_ids_in_care_of(user)).select_related("user")


def care_team_of(member: Member) -> QuerySet[CareTeamAssignment]:
    """The member's current care team, hub coordinator first."""
    return (
        current_assignments()
        .filter(member=member)
        .select_related("practitioner__user", "practitioner__discipline")
        .order_by("-role", "practitioner__discipline__name", "practitioner__user__last_name")
    )


def care_team_history(member: Member) -> QuerySet[CareTeamAssignment]:
    return (
        CareTeamAssignment.objects.filter(member=member, ended_on__isnull=False)
        .select_related("practitioner__user", "practitioner__discipline", "assigned_by")
        .order_by("-ended_on", "-started_on")
    )


def hub_coordinators() -> QuerySet[Practitioner]:
    """Practitioners who may hold the hub function: their user has the hub coordinator role."""
    return (
        Practitioner.objects.filter(user__groups__name=Role.HUB_COORDINATOR.value)
        .select_related("user", "discipline")
        .order_by("user__last_name", "user__first_name")
    )


def practitioners() -> QuerySet[Practitioner]:
    return Practitioner.objects.select_related("user", "discipline").order_by(
        "discipline__name", "user__last_name", "user__first_name"
    )


def is_current_hub_coordinator(practitioner: Practitioner, member: Member) -> bool:
    return (
        current_assignments()
        .filter(member=member, practitioner=practitioner, role=TeamRole.HUB_COORDINATOR)
        .exists()
    )


def consultations_visible_to(user) -> QuerySet[ConsultationRequest]:
    """The one access policy for consultations, used by every page, list and service.

    Hub coordinators see every consultation. A clinician sees those about members whose
    CURRENT care team includes them, plus the consultations they are the named addressee
    of while these are open. Leaving a care team therefore ends access, as a requester
    or as an addressee, and nobody else (members, administrators, anchors) sees any.
    """
    consultations = ConsultationRequest.objects.select_related(
        "arc__member__user",
        "requested_by__user",
        "requested_by__discipline",
        "to_discipline",
        "to_practitioner__user",
        "answered_by__user",
    )
    if not user.is_authenticated:
        return consultations.none()
    if has_role(user, Role.HUB_COORDINATOR):
        return consultations
    if not has_role(user, Role.CLINICIAN):
        return consultations.none()
    return consultations.filter(
        Q(arc__member_id__in=member_ids_in_care_of(user))
        | Q(to_practitioner__user=user, status=ConsultationStatus.OPEN)
    )


def consultations_answerable_by(user) -> QuerySet[ConsultationRequest]:
    """Open consultations the user may answer: within their access, and asked of them (named,
    or notified as one of the discipline's addressees), or any if they coordinate the hub."""
    consultations = consultations_visible_to(user).filter(status=ConsultationStatus.OPEN)
    if has_role(user, Role.HUB_COORDINATOR):
        return consultations
    asked = Notification.objects.filter(
        consultation=OuterRef("pk"), recipient=user, kind=NotificationKind.CONSULTATION_REQUESTED
    )
    return consultations.filter(Exists(asked))


def consultations_addressed_to(user, *, open_only: bool = True) -> QuerySet[ConsultationRequest]:
    """Consultations the user was asked (named, or one of the discipline's addressees)."""
    asked = Notification.objects.filter(
        consultation=OuterRef("pk"), recipient=user, kind=NotificationKind.CONSULTATION_REQUESTED
    )
    consultations = consultations_visible_to(user).filter(Exists(asked))
    if open_only:
        consultations = consultations.filter(status=ConsultationStatus.OPEN)
    return consultations.order_by("created_at")


def notifications_visible_to(user) -> QuerySet[Notification]:
    """The user's notifications about consultations they may still see (same policy)."""
    return Notification.objects.filter(
        recipient=user, consultation__in=consultations_visible_to(user).values("pk")
    )


def unread_notifications(user) -> QuerySet[Notification]:
    return (
        notifications_visible_to(user)
        .filter(read_at__isnull=True)
        .select_related("consultation__requested_by__user", "consultation__to_discipline")
        .order_by("-created_at")
    )


def notification_emails_failed() -> QuerySet[Notification]:
    """Notification emails the mail server refused to the last attempt, or whose outcome was
    lost: for hub coordinators to check and resend (team dashboard). Emails cancelled
    because the recipient left the member's care team are not failures."""
    from careteam.services import CANCELLED_NOT_SENT

    return (
        Notification.objects.filter(
            Q(status=DeliveryStatus.GAVE_UP) & ~Q(last_error=CANCELLED_NOT_SENT)
            | Q(status=DeliveryStatus.UNKNOWN)
        )
        .select_related("recipient")
        .order_by("-created_at")
    )


# The shared helper (clinic.params): kept importable here for the careteam views.
id_param = params.id_param


def member_ids_in_teams(
    *, discipline_id: int | None = None, practitioner_id: int | None = None
) -> QuerySet:
    """Members whose current care team has that practitioner and/or a practitioner of that
    discipline: what the team dashboard's filters mean for member-level numbers."""
    assignments = current_assignments()
    if discipline_id:
        assignments = assignments.filter(practitioner__discipline_id=discipline_id)
    if practitioner_id:
        assignments = assignments.filter(practitioner_id=practitioner_id)
    return assignments.values("member_id")


def consultations_filtered(
    consultations: QuerySet[ConsultationRequest],
    *,
    discipline_id: int | None = None,
    practitioner_id: int | None = None,
) -> QuerySet[ConsultationRequest]:
    """Consultations addressed to the discipline; asked by or addressed to the practitioner."""
    if discipline_id:
        consultations = consultations.filter(to_discipline_id=discipline_id)
    if practitioner_id:
        consultations = consultations.filter(
            Q(to_practitioner_id=practitioner_id) | Q(requested_by_id=practitioner_id)
        )
    return consultations


# --- The team dashboard's figures ------------------------------------------------------------

# Open consultations by age, in days: (key, label, from, to) with ``to`` exclusive.
CONSULTATION_AGES = [
    ("under_7", gettext_lazy("Under a week"), 0, 7),
    ("7_to_30", gettext_lazy("1 to 4 weeks"), 7, 30),
    ("over_30", gettext_lazy("Over 4 weeks"), 30, None),
]
# A change to what team_dashboard_figures returns changes this, so a deploy never reads
# figures cached by the code before it.
_FIGURES_VERSION = 1
UNOWNED_LISTED = 50


def team_dashboard_figures(
    *,
    discipline_id: int | None = None,
    practitioner_id: int | None = None,
    today: datetime.date | None = None,
    fresh: bool = False,
) -> dict:
    """Every number on the team dashboard, for its filters, kept for
    CLINIC_DASHBOARD_CACHE_SECONDS: each figure counts rows across the whole clinic (at
    10,000 members the set costs 60-130 ms of database time), and several coordinators
    looking at the dashboard within a minute share one computation. ``fresh`` recomputes.

    Numbers and ids only, no clinical text: the intervention ids needing a new owner are
    read with their rows by the page. ``computed_at`` says how old the figures are.
    """
    today = today or timezone.localdate()
    key = ":".join(
        map(str, ("careteam:dashboard", _FIGURES_VERSION, today, discipline_id, practitioner_id))
    )
    seconds = settings.CLINIC_DASHBOARD_CACHE_SECONDS
    figures = None if fresh or not seconds else cache.get(key)
    if figures is None:
        figures = _team_dashboard_figures(
            discipline_id=discipline_id, practitioner_id=practitioner_id, today=today
        )
        if seconds:
            cache.set(key, figures, seconds)
    return figures


def _team_dashboard_figures(
    *, discipline_id: int | None, practitioner_id: int | None, today: datetime.date
) -> dict:
    from arcs import selectors as arc_selectors

    filtered = bool(discipline_id or practitioner_id)
    now = timezone.now()
    counts = arc_selectors.dashboard_counts(
        discipline_id=discipline_id, practitioner_id=practitioner_id, today=today
    )
    # A count per practitioner through the assignments' practitioner index, not a GROUP BY
    # of every assignment joined to the practitioners' rows (41 -> 18 ms at 10,000 members).
    open_per_practitioner = (
        current_assignments()
        .filter(practitioner=OuterRef("pk"))
        .order_by()
        .values("practitioner")
        .annotate(n=Count("pk"))
        .values("n")
    )
    caseloads = Practitioner.objects.annotate(
        team_members=Coalesce(Subquery(open_per_practitioner), 0)
    ).order_by("discipline__name", "user__last_name", "pk")
    if discipline_id:
        caseloads = caseloads.filter(discipline_id=discipline_id)
    if practitioner_id:
        caseloads = caseloads.filter(pk=practitioner_id)
    by_discipline = (
        Discipline.objects.annotate(
            team_members=Count(
                "practitioners__assignments__member",
                filter=Q(practitioners__assignments__ended_on__isnull=True),
                distinct=True,
            )
        )
        .order_by("name")
        .values("pk", "name", "team_members")
    )
    open_consultations = consultations_filtered(
        ConsultationRequest.objects.filter(status=ConsultationStatus.OPEN),
        discipline_id=discipline_id,
        practitioner_id=practitioner_id,
    )
    consultation_ages = open_consultations.aggregate(
        **{
            key: Count(
                "pk",
                filter=Q(created_at__lte=now - datetime.timedelta(days=low))
                & (Q(created_at__gt=now - datetime.timedelta(days=high)) if high else Q()),
            )
            for key, _label, low, high in CONSULTATION_AGES
        }
    )
    team_members = (
        member_ids_in_teams(discipline_id=discipline_id, practitioner_id=practitioner_id)
        if filtered
        else None
    )
    unowned = arc_selectors.intervention_ids_needing_owner(member_ids=team_members, today=today)
    return {
        "computed_at": now,
        "counts": counts,
        "without_arc": arc_selectors.active_members_without_active_arc(
            discipline_id=discipline_id, practitioner_id=practitioner_id
        ).count(),
        "caseloads": list(
            caseloads.values(
                "pk",
                "user__first_name",
                "user__last_name",
                "discipline__name",
                "team_members",
            )
        ),
        "by_discipline": list(by_discipline),
        "attainment_by_discipline": arc_selectors.attainment_by_discipline(
            today=today, practitioner_id=practitioner_id
        ),
        "consultation_ages": consultation_ages,
        "unowned_count": len(unowned),
        "unowned_first_ids": unowned[:UNOWNED_LISTED],
    }


# --- The public "Practise here" page and expressions of interest ---------------------------


def disciplines() -> QuerySet[Discipline]:
    """The disciplines the clinic works with (the ones it starts with and any it adds), by
    name."""
    return Discipline.objects.order_by("name")


def interests(*, status: str = "") -> QuerySet[ExpressionOfInterest]:
    """Expressions of interest, newest first, optionally of one status."""
    rows = ExpressionOfInterest.objects.select_related("discipline")
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("-created_at", "-pk")


def interest_detail(pk: int) -> ExpressionOfInterest:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(
        ExpressionOfInterest.objects.select_related(
            "discipline", "closed_by", "answer__answered_by"
        ),
        pk=pk,
    )


def emails_cancelled_on_leaving(assignment: CareTeamAssignment) -> int:
    """How many queued notification emails ending this assignment would cancel: those to
    the practitioner about this member's consultations they could then no longer see (the
    ones they asked or that are about the member; named-addressee ones stay open to them)."""
    user = assignment.practitioner.user
    return (
        Notification.objects.filter(
            recipient=user,
            consultation__arc__member_id=assignment.member_id,
            status__in=SENDABLE,
        )
        .exclude(consultation__to_practitioner__user=user, consultation__status="open")
        .count()
    )


def member_search(members: QuerySet[Member], query: str) -> QuerySet[Member]:
    """Members whose name or email contains the words, or whose member number is the query."""
    query = query.strip()
    if not query:
        return members
    # ASCII digits only: "²" is a digit to str.isdigit() but no number to int().
    if re.fullmatch(r"[0-9]{1,18}", query):
        return members.filter(number=int(query))
    for word in query.split()[:5]:
        members = members.filter(
            Q(user__first_name__icontains=word)
            | Q(user__last_name__icontains=word)
            | Q(user__email__icontains=word)
        )
    return members
