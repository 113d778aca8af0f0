"""Reads of arcs of care, with each person's scope applied in the queryset.

Member: own arcs. Practitioner: arcs of members whose current care team includes them.
Hub coordinator: every arc. Anyone else (administrators, anchor contacts): none at all.
"""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import (
    Count,
    Exists,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    prefetch_related_objects,
)
from django.db.models.functions import TruncDate
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy

from arcs.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    AccessAction,
    AccessLogEntry,
    Arc,
    ArcReview,
    ArcStatus,
    ArcVersion,
    Goal,
    Intervention,
    Measurement,
    NoteVisibility,
    Phase,
    ProgressNote,
)
from careteam.selectors import member_ids_in_care_of, member_ids_in_teams
from clinic.roles import Role, has_role


def _practitioner_scope(user) -> Q | None:
    """The arcs a user may see and change as a practitioner (None: not a practitioner)."""
    if has_role(user, Role.HUB_COORDINATOR):
        return Q()
    if has_role(user, Role.CLINICIAN):
        return Q(member_id__in=member_ids_in_care_of(user))
    return None


def arcs_visible_to(user) -> QuerySet[Arc]:
    arcs = Arc.objects.select_related("member__user", "lead_discipline")
    if not user.is_authenticated:
        return arcs.none()
    if has_role(user, Role.HUB_COORDINATOR):
        return arcs
    scope = _practitioner_scope(user)
    member_scope = Q(member__user=user) if has_role(user, Role.MEMBER) else None
    scopes = [q for q in (scope, member_scope) if q is not None]
    if not scopes:
        return arcs.none()
    combined = scopes[0]
    for q in scopes[1:]:
        combined |= q
    return arcs.filter(combined)


def arcs_changeable_by(user) -> QuerySet[Arc]:
    scope = _practitioner_scope(user)
    arcs = Arc.objects.select_related("member__user", "lead_discipline")
    if scope is None:
        return arcs.none()
    # Nobody is their own clinician: a practitioner's own arc is read-only to them.
    return arcs.filter(scope).exclude(member__user=user)


def arc_for_user(user, pk: int, *, for_change: bool = False) -> Arc:
    """The arc, if the user may see it (404 otherwise); 403 when they may only read it."""
    arc = get_object_or_404(arcs_visible_to(user), pk=pk)
    if for_change and not arcs_changeable_by(user).filter(pk=pk).exists():
        raise PermissionDenied
    return arc


def can_change_arc(user, arc: Arc) -> bool:
    return arcs_changeable_by(user).filter(pk=arc.pk).exists()


def is_member_view(user, arc: Arc) -> bool:
    """The member looking at their own arc sees the plain-language, read-only page."""
    return arc.member.user_id == user.pk


def _plan_prefetches(*, shared_notes_only: bool) -> list[Prefetch]:
    notes = ProgressNote.objects.select_related("author")
    if shared_notes_only:
        # What the member sees (their pages, care summary, FHIR export): the shared notes
        # with their author's name, and the values with their measure; not who recorded
        # each value or what it corrected.
        notes = notes.filter(visibility=NoteVisibility.SHARED).only(
            "arc_id", "text", "visibility", "written_at", "author__first_name", "author__last_name"
        )
        measurements = Measurement.objects.with_superseded().select_related("measure")
    else:
        # Every row, corrected and struck-out ones too (the history shows them); the
        # charts use only the values that stand (``goal_progress``).
        measurements = Measurement.objects.with_superseded().select_related(
            "measure", "recorded_by", "corrects"
        )
    # Read in no order: the plan_* functions below and current_measurements put them in
    # order. An ORDER BY costs Django more to compile than sorting the few rows of a plan
    # (it hashes every selected column to match the ordering to them).
    return [
        Prefetch("goals", queryset=Goal.objects.select_related("measure").order_by()),
        Prefetch("phases", queryset=Phase.objects.order_by()),
        Prefetch(
            "interventions",
            queryset=Intervention.objects.select_related(
                "discipline", "practitioner__user"
            ).order_by(),
        ),
        Prefetch("measurements", queryset=measurements.order_by()),
        Prefetch("notes", queryset=notes.order_by()),
    ]


def arc_with_plan(arc: Arc, *, shared_notes_only: bool) -> Arc:
    """Fetch the arc's plan, measures and notes in a fixed number of queries."""
    return (
        Arc.objects.select_related("member__user", "lead_discipline")
        .prefetch_related(*_plan_prefetches(shared_notes_only=shared_notes_only))
        .get(pk=arc.pk)
    )


def arcs_with_plans(arcs: list[Arc], *, shared_notes_only: bool) -> list[Arc]:
    """The plans, measures and notes of arcs already read (with their member and lead
    discipline), five queries for all of them: a member's page with several arcs costs
    no more than with one, and the arcs are not read a second time."""
    prefetch_related_objects(arcs, *_plan_prefetches(shared_notes_only=shared_notes_only))
    return arcs


# The plan of an arc read by ``arc_with_plan`` or ``arcs_with_plans``, in its order: the
# one place that order is decided, for every page, PDF and export that shows a plan.


def plan_goals(arc: Arc) -> list[Goal]:
    """Goals by target date."""
    return sorted(arc.goals.all(), key=lambda goal: (goal.target_date, goal.pk))


def plan_phases(arc: Arc) -> list[Phase]:
    """Phases by planned start."""
    return sorted(arc.phases.all(), key=lambda phase: (phase.planned_start, phase.pk))


def plan_interventions(arc: Arc) -> list[Intervention]:
    """Interventions by start date."""
    return sorted(arc.interventions.all(), key=lambda item: (item.starts_on, item.pk))


def plan_notes(arc: Arc) -> list[ProgressNote]:
    """Progress notes, latest first."""
    return sorted(arc.notes.all(), key=lambda note: (note.written_at, note.pk), reverse=True)


def current_phase(arc: Arc, *, today: datetime.date | None = None) -> Phase | None:
    """The phase the arc is in today, else the next one planned (needs prefetched phases)."""
    today = today or timezone.localdate()
    phases = [phase for phase in plan_phases(arc) if phase.removed_on is None]
    for phase in phases:
        if phase.planned_start <= today <= phase.planned_end:
            return phase
    return next((phase for phase in phases if phase.planned_start > today), None)


def upcoming_interventions(arc: Arc, *, today: datetime.date | None = None) -> list:
    today = today or timezone.localdate()
    return [
        item
        for item in plan_interventions(arc)
        if item.removed_on is None and (item.ends_on is None or item.ends_on >= today)
    ]


# --- Progress toward goals -----------------------------------------------------------------


@dataclass
class GoalProgress:
    goal: Goal
    points: list = field(default_factory=list)  # [(date, Decimal)] in date order

    @property
    def latest(self):
        return self.points[-1][1] if self.points else None

    @property
    def percent(self) -> int | None:
        """How far from baseline to target the latest value is (0 to 100, capped)."""
        if self.latest is None:
            return None
        span = self.goal.target - self.goal.baseline
        done = (self.latest - self.goal.baseline) / span * 100
        return int(max(0, min(100, done)))

    @property
    def reached(self) -> bool:
        if self.latest is None:
            return False
        if self.goal.target < self.goal.baseline:
            return self.latest <= self.goal.target
        return self.latest >= self.goal.target


def current_measurements(arc: Arc) -> list[Measurement]:
    """The values that stand, in date order: corrected values replaced by their
    correction, struck-out ones left out (uses the measurements ``arc_with_plan`` fetched)."""
    rows = sorted(arc.measurements.all(), key=lambda m: (m.measured_on, m.pk))
    return [m for m in rows if not m.struck_out and not m.superseded]


def goal_progress(arc: Arc) -> list[GoalProgress]:
    """Each goal with the arc's values of its measure (uses prefetched goals and measures)."""
    by_measure: dict[int, list] = {}
    for measurement in current_measurements(arc):
        by_measure.setdefault(measurement.measure_id, []).append(
            (measurement.measured_on, measurement.value)
        )
    return [
        GoalProgress(goal, by_measure.get(goal.measure_id, []))
        for goal in plan_goals(arc)
        if goal.removed_on is None
    ]


def arc_reviews(arc: Arc) -> QuerySet[ArcReview]:
    """The arc's reviews, latest first, with who recorded them (one query)."""
    return arc.reviews.select_related("recorded_by").order_by("-held_on", "-pk")


# --- Versions ------------------------------------------------------------------------------


def arc_versions(arc: Arc) -> QuerySet[ArcVersion]:
    return arc.versions.select_related("changed_by").order_by("-number")


SECTION_LABELS = {
    "arc": gettext_lazy("Arc"),
    "goals": gettext_lazy("Goal"),
    "phases": gettext_lazy("Phase"),
    "interventions": gettext_lazy("Intervention"),
}


def snapshot_diff(older: dict, newer: dict) -> list[dict]:
    """Field-level changes between two snapshots: section, item, field, before, after."""
    changes = []
    for section in ("arc", "goals", "phases", "interventions"):
        before_items = older.get(section, {})
        after_items = newer.get(section, {})
        if section == "arc":
            before_items, after_items = {"": before_items}, {"": after_items}
        for key in sorted(set(before_items) | set(after_items), key=str):
            before = before_items.get(key)
            after = after_items.get(key)
            label = _item_label(after or before, section)
            if before is None or after is None:
                changes.append(
                    {
                        "section": SECTION_LABELS[section],
                        "item": label,
                        "field": "",
                        "before": "" if before is None else "(present)",
                        "after": "" if after is None else "(added)",
                        "kind": "added" if before is None else "removed",
                    }
                )
                continue
            for name in sorted(set(before) | set(after)):
                if before.get(name) != after.get(name):
                    changes.append(
                        {
                            "section": SECTION_LABELS[section],
                            "item": label,
                            "field": name.replace("_", " "),
                            "before": before.get(name),
                            "after": after.get(name),
                            "kind": "changed",
                        }
                    )
    return changes


def _item_label(item: dict, section: str) -> str:
    if section == "arc":
        return ""
    return item.get("description") or item.get("name") or ""


# --- Lists behind the dashboard ------------------------------------------------------------


def stalled_before(now: datetime.datetime | None = None) -> datetime.datetime:
    return (now or timezone.now()) - datetime.timedelta(days=settings.CLINIC_STALLED_ARC_DAYS)


def attainment_since(today: datetime.date | None = None) -> datetime.date:
    """First day of the twelve calendar months that end today (leap days included): from
    2024-03-01 the window starts 2023-03-02, from 2024-02-29 it starts 2023-03-01."""
    from dateutil.relativedelta import relativedelta

    today = today or timezone.localdate()
    return today - relativedelta(years=1) + datetime.timedelta(days=1)


# An arc discontinued straight from draft never started: it does not count against
# endpoint attainment (neither in the numbers nor in the lists behind them).
COUNTS_FOR_ATTAINMENT = Q(activated_on__isnull=False)


ARC_LIST_FILTERS = ("draft", "active", "on_hold", "achieved", "discontinued", "overdue",
                    "stalled", "achieved_12m", "discontinued_12m", "open")  # fmt: skip


def arcs_for_dashboard(
    *,
    which: str | None = None,
    discipline_id: int | None = None,
    practitioner_id: int | None = None,
    today: datetime.date | None = None,
) -> QuerySet[Arc]:
    """Every arc (the hub coordinator's view), narrowed by the dashboard's filters."""
    from careteam.selectors import current_assignments

    today = today or timezone.localdate()
    arcs = Arc.objects.select_related("member__user", "lead_discipline")
    if discipline_id:
        arcs = arcs.filter(lead_discipline_id=discipline_id)
    if practitioner_id:
        arcs = arcs.filter(
            member_id__in=current_assignments()
            .filter(practitioner_id=practitioner_id)
            .values("member_id")
        )
    if which in ArcStatus.values:
        arcs = arcs.filter(status=which)
    elif which == "open":
        arcs = arcs.filter(status__in=OPEN_STATUSES)
    elif which == "overdue":
        arcs = arcs.filter(status__in=OPEN_STATUSES, next_review_on__lt=today)
    elif which == "stalled":
        arcs = arcs.filter(status=ArcStatus.ACTIVE, last_activity_at__lt=stalled_before())
    elif which == "achieved_12m":
        arcs = arcs.filter(status=ArcStatus.ACHIEVED, closed_on__gte=attainment_since(today))
    elif which == "discontinued_12m":
        arcs = arcs.filter(
            COUNTS_FOR_ATTAINMENT,
            status=ArcStatus.DISCONTINUED,
            closed_on__gte=attainment_since(today),
        )
    return arcs.order_by("next_review_on", "pk")


def dashboard_counts(
    *,
    discipline_id: int | None = None,
    practitioner_id: int | None = None,
    today: datetime.date | None = None,
) -> dict:
    """Arcs by status, overdue, stalled and 12-month outcomes in ONE aggregate query."""
    today = today or timezone.localdate()
    since = attainment_since(today)
    arcs = arcs_for_dashboard(
        discipline_id=discipline_id, practitioner_id=practitioner_id, today=today
    ).order_by()
    counts = arcs.aggregate(
        **{status: Count("pk", filter=Q(status=status)) for status in ArcStatus.values},
        overdue=Count("pk", filter=Q(status__in=OPEN_STATUSES, next_review_on__lt=today)),
        stalled=Count(
            "pk", filter=Q(status=ArcStatus.ACTIVE, last_activity_at__lt=stalled_before())
        ),
        achieved_12m=Count("pk", filter=Q(status=ArcStatus.ACHIEVED, closed_on__gte=since)),
        discontinued_12m=Count(
            "pk",
            filter=Q(COUNTS_FOR_ATTAINMENT, status=ArcStatus.DISCONTINUED, closed_on__gte=since),
        ),
    )
    counts["attainment"] = attainment(counts["achieved_12m"], counts["discontinued_12m"])
    return counts


def attainment(achieved: int, discontinued: int) -> int | None:
    """Endpoint attainment in percent: achieved / (achieved + discontinued)."""
    closed = achieved + discontinued
    return round(achieved * 100 / closed) if closed else None


def attainment_by_discipline(
    *, today: datetime.date | None = None, practitioner_id: int | None = None
) -> list[dict]:
    """Achieved and discontinued arcs of the last 12 months per lead discipline (one query)."""
    since = attainment_since(today)
    arcs = Arc.objects.filter(
        COUNTS_FOR_ATTAINMENT, status__in=CLOSED_STATUSES, closed_on__gte=since
    )
    if practitioner_id:
        arcs = arcs.filter(member_id__in=member_ids_in_teams(practitioner_id=practitioner_id))
    rows = (
        arcs.order_by()
        .values("lead_discipline_id", "lead_discipline__name")
        .annotate(
            achieved=Count("pk", filter=Q(status=ArcStatus.ACHIEVED)),
            discontinued=Count("pk", filter=Q(status=ArcStatus.DISCONTINUED)),
        )
        .order_by("lead_discipline__name")
    )
    return [{**row, "attainment": attainment(row["achieved"], row["discontinued"])} for row in rows]


def active_members_without_active_arc(
    *, discipline_id: int | None = None, practitioner_id: int | None = None
):
    """Active members with no arc that is active or on hold, narrowed to the care teams
    the dashboard's filters name. An arc on hold is still the member's arc under way (a
    pause, not an end), so it counts as an active arc here; the dashboard says so."""
    from members.models import Member, MemberStatus

    open_arc = Arc.objects.filter(member=OuterRef("pk"), status__in=OPEN_STATUSES)
    members = Member.objects.filter(status=MemberStatus.ACTIVE)
    if discipline_id or practitioner_id:
        members = members.filter(
            pk__in=member_ids_in_teams(discipline_id=discipline_id, practitioner_id=practitioner_id)
        )
    return members.filter(~Exists(open_arc)).select_related("user").order_by("number", "pk")


# --- Access log ----------------------------------------------------------------------------


def access_log(
    *,
    member_id: int | None = None,
    user_id: int | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> QuerySet:
    """The access log grouped: the same person doing the same thing to the same record on
    the same day (in the clinic's time zone) is one row, with how many times and when
    first and last. Rows are dicts with the names the page shows; latest first. Entries
    of one group may differ in detail (the arc page, its plan form): one is shown."""
    entries = AccessLogEntry.objects.all()
    if member_id:
        entries = entries.filter(member_id=member_id)
    if user_id:
        entries = entries.filter(user_id=user_id)
    if date_from:
        entries = entries.filter(at__date__gte=date_from)
    if date_to:
        entries = entries.filter(at__date__lte=date_to)
    return (
        entries.annotate(day=TruncDate("at"))
        .values(
            "day",
            "user_id",
            "user__first_name",
            "user__last_name",
            "user__email",
            "member_id",
            "member__number",
            "member__user__first_name",
            "member__user__last_name",
            "member__user__email",
            "action",
            "record_type",
            "record_id",
        )
        .annotate(times=Count("pk"), first_at=Min("at"), last_at=Max("at"), detail=Max("detail"))
        .order_by("-day", "-last_at", "user_id")
    )


ACCESS_RECORD_LABELS = {
    "arc": gettext_lazy("Arc"),
    "measurement": gettext_lazy("Measure"),
    "note": gettext_lazy("Progress note"),
    "consultation": gettext_lazy("Consultation"),
    "care_team": gettext_lazy("Care team"),
    "fhir_bundle": gettext_lazy("Care record (FHIR)"),
    "member": gettext_lazy("Member"),
    "care_team_assignment": gettext_lazy("Care team assignment"),
    "arc list": gettext_lazy("List of arcs"),
    "caseload": gettext_lazy("Caseload"),
    "team dashboard": gettext_lazy("Team dashboard"),
    "care team members": gettext_lazy("Care teams of all members"),
    "consultation list": gettext_lazy("List of consultations"),
    "members without arc": gettext_lazy("Members without an arc"),
    "reviews due": gettext_lazy("Reviews due"),
}


def _person(first: str | None, last: str | None, email: str | None) -> str:
    return " ".join(part for part in (first, last) if part) or email or ""


def access_log_rows(groups) -> list[dict]:
    """Name the people and records of one page of grouped entries (three more queries,
    whatever the page holds): arcs by title, measures by measure, consultations by the
    discipline asked. A record of another kind is named by its kind."""
    from careteam.models import ConsultationRequest

    groups = list(groups)
    ids: dict[str, set] = {"arc": set(), "measurement": set(), "consultation": set()}
    for group in groups:
        if group["record_type"] in ids and group["record_id"] is not None:
            ids[group["record_type"]].add(group["record_id"])
    arcs = dict(Arc.objects.filter(pk__in=ids["arc"]).values_list("pk", "title"))
    measures = dict(
        Measurement.objects.filter(pk__in=ids["measurement"]).values_list("pk", "measure__name")
    )
    consultations = dict(
        ConsultationRequest.objects.filter(pk__in=ids["consultation"]).values_list(
            "pk", "to_discipline__name"
        )
    )
    names = {"arc": arcs, "measurement": measures, "consultation": consultations}
    rows = []
    for group in groups:
        kind = group["record_type"]
        label = ACCESS_RECORD_LABELS.get(kind, kind.replace("_", " ").capitalize())
        name = names.get(kind, {}).get(group["record_id"], "")
        rows.append(
            {
                **group,
                "who": _person(
                    group["user__first_name"], group["user__last_name"], group["user__email"]
                ),
                "member_name": _person(
                    group["member__user__first_name"],
                    group["member__user__last_name"],
                    group["member__user__email"],
                )
                if group["member_id"]
                else "",
                "record": f"{label}: {name}" if name else str(label),
                "action_label": AccessAction(group["action"]).label
                if group["action"] in AccessAction.values
                else group["action"],
            }
        )
    return rows


# --- For other apps ------------------------------------------------------------------------


def arc_outcome_counts(*, member_ids, start: datetime.date, end: datetime.date) -> dict[str, int]:
    """Non-clinical aggregates for billing: arcs active at some time in the period, and
    arcs that reached "achieved" in it, for the given members (one query)."""
    arcs = Arc.objects.filter(member_id__in=member_ids).order_by()
    counts = arcs.aggregate(
        active=Count(
            "pk",
            filter=Q(activated_on__isnull=False, activated_on__lte=end)
            & (Q(closed_on__isnull=True) | Q(closed_on__gte=start)),
        ),
        achieved=Count(
            "pk", filter=Q(status=ArcStatus.ACHIEVED, closed_on__gte=start, closed_on__lte=end)
        ),
    )
    return {"active": counts["active"], "achieved": counts["achieved"]}


def reviews_due_for(user, *, within_days: int = 7, today: datetime.date | None = None):
    """Open arcs of the user's caseload whose review is due within the coming week."""
    today = today or timezone.localdate()
    return (
        arcs_changeable_by(user)
        .filter(
            status__in=OPEN_STATUSES,
            next_review_on__lte=today + datetime.timedelta(days=within_days),
            member_id__in=member_ids_in_care_of(user),
        )
        .order_by("next_review_on", "pk")
    )


def interventions_due_for(user, *, within_days: int = 7, today: datetime.date | None = None):
    """Interventions the user is responsible for, running now or starting within a week."""
    today = today or timezone.localdate()
    return (
        Intervention.objects.filter(
            practitioner__user=user,
            arc__status=ArcStatus.ACTIVE,
            removed_on__isnull=True,
            arc__member_id__in=member_ids_in_care_of(user),
            starts_on__lte=today + datetime.timedelta(days=within_days),
        )
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .select_related("arc__member__user", "discipline")
        .order_by("starts_on", "pk")
    )


def open_arc_counts_by_member(member_ids) -> dict[int, int]:
    rows = (
        Arc.objects.filter(member_id__in=member_ids, status__in=OPEN_STATUSES)
        .order_by()
        .values("member_id")
        .annotate(n=Count("pk"))
    )
    return {row["member_id"]: row["n"] for row in rows}


def intervention_ids_needing_owner(*, member_ids, today: datetime.date) -> list[int]:
    from careteam.selectors import current_assignments

    on_team = current_assignments().filter(
        member_id=OuterRef("arc__member_id"), practitioner_id=OuterRef("practitioner_id")
    )
    items = Intervention.objects.filter(
        removed_on__isnull=True,
        practitioner__isnull=False,
        arc__status__in=OPEN_STATUSES,
    ).filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
    if member_ids is not None:
        items = items.filter(arc__member_id__in=member_ids)
    # Two steps: the planner expects almost nothing to survive the anti-join and, joining
    # the related rows in the same statement, chose nested loops that ran for minutes at
    # 1,000 members. The ids first (in the pages' order); then the rows with what the
    # pages show.
    return list(
        items.filter(~Exists(on_team)).order_by("starts_on", "pk").values_list("pk", flat=True)
    )


def interventions_with_relations(ids: list[int]) -> QuerySet[Intervention]:
    return (
        Intervention.objects.filter(pk__in=ids)
        .select_related("arc__member__user", "discipline", "practitioner__user")
        .order_by("starts_on", "pk")
    )


@dataclass(frozen=True)
class ListedIntervention:
    """An intervention as the dashboard and the caseload list it, by name."""

    pk: int
    arc_id: int
    description: str
    member_name: str
    practitioner_name: str


def interventions_listed(ids: list[int]) -> list[ListedIntervention]:
    """The interventions ``ids`` with the names the lists show, as plain rows: building
    six model instances for each of 50 rows cost more than the rest of the dashboard."""
    rows = (
        Intervention.objects.filter(pk__in=ids)
        .order_by("starts_on", "pk")
        .values_list(
            "pk",
            "arc_id",
            "description",
            "arc__member__user__first_name",
            "arc__member__user__last_name",
            "arc__member__user__email",
            "practitioner__user__first_name",
            "practitioner__user__last_name",
        )
    )
    return [
        ListedIntervention(
            pk=pk,
            arc_id=arc_id,
            description=description,
            # Member.full_name and User.get_full_name, from the columns.
            member_name=f"{first} {last}".strip() or email,
            practitioner_name=f"{p_first or ''} {p_last or ''}".strip(),
        )
        for pk, arc_id, description, first, last, email, p_first, p_last in rows
    ]


# --- The member's own pages ----------------------------------------------------------------


def arcs_shown_to_member(user, member) -> list[Arc]:
    """The member's own arcs as their pages show them: never drafts, open ones first ("where
    I am"), finished ones after as history. Scoped by ``arcs_visible_to``."""
    arcs = list(
        arcs_visible_to(user)
        .select_related(None)
        .select_related("lead_discipline")
        .filter(member=member)
        .exclude(status=ArcStatus.DRAFT)
        .order_by("status", "-created_at")
    )
    for arc in arcs:
        arc.member = member  # already read with its person: not joined again
    arcs.sort(key=lambda arc: arc.status not in OPEN_STATUSES)
    return arcs


@dataclass
class ArcSummary:
    arc: Arc
    phase: Phase | None
    upcoming: list
    goals: list[GoalProgress]
    notes: list


def member_care_summary(user, member) -> list[ArcSummary]:
    """What the member's care summary says of each arc: only what their own pages show
    (no drafts, shared notes only)."""
    summaries = []
    for arc in arcs_shown_to_member(user, member):
        arc = arc_with_plan(arc, shared_notes_only=True)
        summaries.append(
            ArcSummary(
                arc=arc,
                phase=current_phase(arc),
                upcoming=upcoming_interventions(arc),
                goals=goal_progress(arc),
                notes=plan_notes(arc),
            )
        )
    return summaries


def interventions_held_by(*, practitioner_id: int, member_id: int) -> QuerySet[Intervention]:
    """The practitioner's running or planned interventions on the member's open arcs: the
    ones that need a new owner if the practitioner leaves the member's care team."""
    today = timezone.localdate()
    return (
        Intervention.objects.filter(
            practitioner_id=practitioner_id,
            arc__member_id=member_id,
            arc__status__in=OPEN_STATUSES,
            removed_on__isnull=True,
        )
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .select_related("arc")
        .order_by("starts_on", "pk")
    )


def interventions_needing_owner(
    *, member_ids=None, today: datetime.date | None = None
) -> QuerySet[Intervention]:
    """Interventions still running or planned on an open arc whose responsible practitioner
    is no longer on the member's current care team: they need a new owner. Two queries."""
    ids = intervention_ids_needing_owner(member_ids=member_ids, today=today or timezone.localdate())
    return interventions_with_relations(ids)


@dataclass
class InterventionsNeedingOwner:
    count: int
    first: list[ListedIntervention]


def interventions_needing_owner_first(
    *, member_ids=None, today: datetime.date | None = None, limit: int = 50
) -> InterventionsNeedingOwner:
    """How many interventions need a new owner (see ``interventions_needing_owner``), and
    the first ``limit`` with their relations: the pages show the true count, and read the
    related rows of only those they list. Two queries."""
    ids = intervention_ids_needing_owner(member_ids=member_ids, today=today or timezone.localdate())
    return InterventionsNeedingOwner(count=len(ids), first=list(interventions_listed(ids[:limit])))
