"""Reads of the member register. Other apps ask these; they never query members' tables."""

import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from clinic.money import quantize_money
from members.models import (
    CEASED_STATUSES,
    CURRENT_STATUSES,
    FeePlan,
    FeePlanAssignment,
    Member,
    MemberEmail,
    MemberStatus,
    MemberStatusEvent,
    OrientationRegistration,
    OrientationSession,
    RegisterExport,
    ShareCertificate,
    ShareClass,
    ShareLedgerEntry,
)


def member_for_user(user) -> Member:
    """The member record of the person logged in (404 when they have none); read with the
    user on each request by clinic.auth, else here."""
    read_with_user = getattr(user.__class__, "member", None)  # through the lazy request.user
    if read_with_user is not None and read_with_user.related.is_cached(user):
        member = read_with_user.related.get_cached_value(user)
        if member is None:
            raise Http404
        return member
    return get_object_or_404(Member.objects.select_related("user"), user=user)


def holding_subquery(*, share_class: ShareClass, on: datetime.date) -> Coalesce:
    """Shares of one class a member (``OuterRef("pk")``) held at the end of ``on``."""
    total = (
        ShareLedgerEntry.objects.filter(
            member=OuterRef("pk"), share_class=share_class, entry_date__lte=on
        )
        .order_by()
        .values("member")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=IntegerField()), Value(0))


def status_on_subquery(*, on: datetime.date) -> Subquery:
    """The status a member (``OuterRef("pk")``) had at the end of ``on``, from the history."""
    latest = (
        MemberStatusEvent.objects.filter(member=OuterRef("pk"), effective_on__lte=on)
        .order_by("-effective_on", "-pk")
        .values("to_status")[:1]
    )
    return Subquery(latest, output_field=CharField())


def active_members(*, on: datetime.date | None = None) -> QuerySet[Member]:
    """Members whose status was active at the end of ``on`` (one query, usable as subquery).

    The recorded status history answers for members who have one; members entered without
    history (an imported register) fall back to their current status and dates.
    """
    on = on or timezone.localdate()
    has_history = Exists(MemberStatusEvent.objects.filter(member=OuterRef("pk")))
    return (
        Member.objects.annotate(status_on=status_on_subquery(on=on), has_history=has_history)
        .filter(
            Q(has_history=True, status_on=MemberStatus.ACTIVE)
            | Q(has_history=False, status=MemberStatus.ACTIVE)
        )
        .filter(admitted_on__lte=on)
        .exclude(ceased_on__lte=on)
    )


def members_in_good_standing(*, on: datetime.date | None = None) -> QuerySet[Member]:
    """Members in good standing on a date: one query, usable as a subquery.

    In good standing means: active (admitted on or before the date and not ceased), holding
    at least the rules' minimum of every share class, and with no invoice overdue by more
    than ``CLINIC_GOOD_STANDING_GRACE_DAYS``. Governance uses this for voting eligibility.
    """
    from billing.selectors import member_ids_with_invoices_overdue

    on = on or timezone.localdate()
    members = active_members(on=on)
    for share_class in ShareClass.objects.filter(minimum_holding__gt=0):
        name = f"holding_{share_class.pk}"
        members = members.annotate(
            **{name: holding_subquery(share_class=share_class, on=on)}
        ).filter(**{f"{name}__gte": share_class.minimum_holding})
    overdue = member_ids_with_invoices_overdue(
        on=on - datetime.timedelta(days=settings.CLINIC_GOOD_STANDING_GRACE_DAYS), as_of=on
    )
    return members.exclude(pk__in=overdue)


def is_in_good_standing(member: Member, *, on: datetime.date | None = None) -> bool:
    return members_in_good_standing(on=on).filter(pk=member.pk).exists()


def membership_spans(
    *, member_ids: Iterable[int]
) -> dict[int, list[tuple[datetime.date, datetime.date | None]]]:
    """Each member's memberships, oldest first, as (admitted, ceased) with ``None`` while
    current, in one query whatever the number of members.

    Read from the status history, not the member row: a readmitted member's row keeps only
    the latest admission, and the days of the earlier membership are still membership days
    (billing bills them). Members without history (an imported register) fall back to the
    row's dates.
    """
    spans: dict[int, list[list]] = {}
    rows = (
        Member.objects.filter(pk__in=list(member_ids))
        .values_list("pk", "admitted_on", "ceased_on", "status_events__from_status",
                     "status_events__to_status", "status_events__effective_on")
        .order_by("pk", "status_events__effective_on", "status_events__pk")
    )  # fmt: skip
    fallback: dict[int, tuple] = {}
    for pk, admitted_on, ceased_on, from_status, to_status, effective_on in rows:
        member_spans = spans.setdefault(pk, [])
        if to_status is None:
            fallback[pk] = (admitted_on, ceased_on)
            continue
        if not member_spans and from_status in CURRENT_STATUSES:
            # The history starts during a membership (a register entered before it was
            # kept): it began on the row's admission date, unless a readmission has since
            # replaced that date, which leaves its start unknown.
            known = admitted_on is not None and admitted_on <= effective_on
            member_spans.append([admitted_on if known else datetime.date.min, None])
        is_open = bool(member_spans) and member_spans[-1][1] is None
        if to_status in CURRENT_STATUSES and from_status not in CURRENT_STATUSES:
            # Admission (applicant -> active) starts a membership.
            if not is_open:
                member_spans.append([effective_on, None])
        elif to_status in CEASED_STATUSES and is_open:
            member_spans[-1][1] = effective_on
    for pk, (admitted_on, ceased_on) in fallback.items():
        if admitted_on is not None:
            spans[pk] = [[admitted_on, ceased_on]]
    return {pk: [(start, end) for start, end in v] for pk, v in spans.items()}


def fee_plan_assignments_between(
    *, start: datetime.date, end: datetime.date
) -> QuerySet[FeePlanAssignment]:
    """Fee plan assignments in force on some day from ``start`` to ``end`` (inclusive)."""
    return (
        FeePlanAssignment.objects.filter(valid_from__lte=end)
        .exclude(valid_to__lt=start)
        .select_related("member__user", "plan")
    )


# --- Shares ---------------------------------------------------------------------------------


def holdings_of(member: Member) -> list[dict]:
    """The member's holding of each share class they have entries in, with money paid."""
    rows = (
        ShareLedgerEntry.objects.filter(member=member)
        .order_by()
        .values("share_class")
        .annotate(shares=Sum("quantity"), paid=Sum("amount"))
    )
    classes = {c.pk: c for c in ShareClass.objects.filter(pk__in=[r["share_class"] for r in rows])}
    return [
        {
            "share_class": classes[row["share_class"]],
            "shares": row["shares"],
            "paid": quantize_money(row["paid"], classes[row["share_class"]].currency),
            "value": classes[row["share_class"]].par_value * row["shares"],
        }
        for row in sorted(rows, key=lambda r: classes[r["share_class"]].name)
    ]


def share_capital() -> list[dict]:
    """Per share class: shares issued (the sum of every holding), their value, money paid in."""
    classes = list(
        ShareClass.objects.annotate(
            shares=Coalesce(Sum("entries__quantity"), 0),
            paid=Coalesce(Sum("entries__amount"), Value(Decimal(0)), output_field=DecimalField()),
        )
        .annotate(value=F("shares") * F("par_value"))
        .order_by("name")
    )
    for share_class in classes:
        # Sums read back with the columns' four decimals; show the currency's own.
        share_class.paid = quantize_money(share_class.paid, share_class.currency)
        share_class.value = quantize_money(share_class.value, share_class.currency)
    return classes


def ledger_entries(*, member: Member | None = None) -> QuerySet[ShareLedgerEntry]:
    entries = ShareLedgerEntry.objects.select_related(
        "member__user", "share_class", "created_by", "reverses"
    ).annotate(is_reversed=Exists(ShareLedgerEntry.objects.filter(reverses=OuterRef("pk"))))
    if member is not None:
        entries = entries.filter(member=member)
    return entries.order_by("-entry_date", "-pk")


def certificate_for_member(member: Member, pk: int) -> ShareCertificate:
    """One of the member's own certificates; someone else's is a 404."""
    return get_object_or_404(
        ShareCertificate.objects.select_related("share_class"), member=member, pk=pk
    )


# --- The register -------------------------------------------------------------------------


def _total_holding() -> Coalesce:
    total = (
        ShareLedgerEntry.objects.filter(member=OuterRef("pk"))
        .order_by()
        .values("member")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=IntegerField()), Value(0))


def _current_plan_name() -> Subquery:
    current = FeePlanAssignment.objects.filter(member=OuterRef("pk"), valid_to__isnull=True).values(
        "plan__name"
    )[:1]
    return Subquery(current, output_field=CharField())


REGISTER_SORTS = {
    "number": ("number", "pk"),
    "-number": ("-number", "-pk"),
    "name": ("user__last_name", "user__first_name", "pk"),
    "-name": ("-user__last_name", "-user__first_name", "-pk"),
    "admitted": ("admitted_on", "number", "pk"),
    "-admitted": ("-admitted_on", "-number", "-pk"),
    "shares": ("shares_held", "number", "pk"),
    "-shares": ("-shares_held", "-number", "-pk"),
}


def register_members(
    *,
    search: str = "",
    status: str = "",
    plan: FeePlan | None = None,
    needs_orientation: bool = False,
    sort: str = "number",
) -> QuerySet[Member]:
    """The administrators' member list: one query per page, whatever its size."""
    members = (
        Member.objects.exclude(status__in=[MemberStatus.APPLICANT, MemberStatus.REJECTED])
        .select_related("user")
        .annotate(
            shares_held=_total_holding(),
            plan_name=_current_plan_name(),
            # Active members who have not been to the orientation session are flagged.
            missed_orientation=Case(
                When(status=MemberStatus.ACTIVE, orientation_attended_on__isnull=True, then=True),
                default=False,
            ),
        )
    )
    search = search.strip()
    if search:
        condition = (
            Q(user__first_name__icontains=search)
            | Q(user__last_name__icontains=search)
            | Q(user__email__icontains=search)
        )
        if search.isdigit():
            condition |= Q(number=int(search))
        words = search.split()
        if len(words) > 1:
            # "Maria Member": first and last name typed together.
            condition |= Q(user__first_name__icontains=words[0]) & Q(
                user__last_name__icontains=words[-1]
            )
        members = members.filter(condition)
    if status:
        members = members.filter(status=status)
    if plan is not None:
        members = members.filter(fee_plans__plan=plan, fee_plans__valid_to__isnull=True)
    if needs_orientation:
        members = members.filter(missed_orientation=True)
    return members.order_by(*REGISTER_SORTS.get(sort, REGISTER_SORTS["number"]))


def register_rows() -> QuerySet[Member]:
    """Everyone ever admitted, by number, with the shares they hold: the legal register."""
    return (
        Member.objects.filter(number__isnull=False)
        .select_related("user")
        .annotate(shares_held=_total_holding())
        .order_by("number")
    )


def applications() -> QuerySet[Member]:
    return (
        Member.objects.filter(status=MemberStatus.APPLICANT)
        .select_related("user", "requested_fee_plan")
        .order_by("applied_on", "pk")
    )


def application_for_admin(pk: int) -> Member:
    return get_object_or_404(applications(), pk=pk)


def member_for_admin(pk: int) -> Member:
    return get_object_or_404(
        Member.objects.select_related("user", "requested_fee_plan").annotate(
            plan_name=_current_plan_name()
        ),
        pk=pk,
    )


def fee_plan_history(member: Member) -> QuerySet[FeePlanAssignment]:
    return member.fee_plans.select_related("plan").order_by("-valid_from", "-pk")


def current_fee_plan(member: Member) -> FeePlanAssignment | None:
    return member.fee_plans.select_related("plan").filter(valid_to__isnull=True).first()


def status_history(member: Member) -> QuerySet[MemberStatusEvent]:
    return member.status_events.select_related("recorded_by").order_by("-effective_on", "-pk")


def register_exports() -> QuerySet[RegisterExport]:
    return RegisterExport.objects.select_related("requested_by")[:10]


def orientation_pending_count() -> int:
    return Member.objects.filter(
        status=MemberStatus.ACTIVE, orientation_attended_on__isnull=True
    ).count()


def current_certificates(member: Member) -> dict[int, ShareCertificate]:
    """The rendered certificate of each share class that matches today's holding."""
    latest = (
        ShareLedgerEntry.objects.filter(member=member)
        .order_by()
        .values("share_class")
        .annotate(last=Max("pk"))
    )
    last_by_class = {row["share_class"]: row["last"] for row in latest}
    certificates = ShareCertificate.objects.filter(
        member=member, last_entry_id__in=last_by_class.values(), superseded_on__isnull=True
    ).exclude(file="")
    return {c.share_class_id: c for c in certificates}


def membership_costs() -> dict:
    """What joining costs, for the public home: open fee plans and the share classes."""
    return {
        "fee_plans": list(FeePlan.objects.filter(is_available=True).order_by("amount", "name")),
        "share_classes": list(ShareClass.objects.order_by("name")),
    }


def current_members() -> QuerySet[Member]:
    """Everyone who is a member today: admitted and not ceased, suspended and lapsed members
    included (they are still members; voting rights are a separate question)."""
    return Member.objects.filter(status__in=CURRENT_STATUSES, admitted_on__isnull=False)


def member_emails(member: Member) -> QuerySet[MemberEmail]:
    """The register's emails to this person (welcome, rejection, "already registered"),
    newest first, for the member page's delivery list."""
    return MemberEmail.objects.filter(Q(member=member) | Q(user_id=member.user_id)).order_by(
        "-created_at", "-pk"
    )


def member_email_for_admin(member: Member, pk: int) -> MemberEmail:
    """One of ``member``'s emails; another person's email id is a 404."""
    return get_object_or_404(member_emails(member), pk=pk)


# --- Orientation sessions -----------------------------------------------------------------


def _with_places(sessions: QuerySet[OrientationSession]) -> QuerySet[OrientationSession]:
    return sessions.annotate(registered=Count("registrations")).annotate(
        places_left=F("capacity") - F("registered")
    )


def upcoming_orientation_sessions(*, limit: int = 3) -> list[OrientationSession]:
    """The next sessions that have not started, with ``registered`` and ``places_left``
    (full ones included: the home says they are full rather than hiding them)."""
    sessions = OrientationSession.objects.filter(starts_at__gt=timezone.now())
    return list(_with_places(sessions).order_by("starts_at", "pk")[:limit])


def orientation_session_open(pk: int) -> OrientationSession:
    """A session people may still register for (404 for a past or unknown one)."""
    return get_object_or_404(
        _with_places(OrientationSession.objects.filter(starts_at__gt=timezone.now())), pk=pk
    )


def orientation_sessions_for_admin() -> QuerySet[OrientationSession]:
    """Every session, the coming ones first, with their counts."""
    return _with_places(OrientationSession.objects.all()).order_by("-starts_at", "-pk")


def orientation_session_for_admin(pk: int) -> OrientationSession:
    return get_object_or_404(_with_places(OrientationSession.objects.all()), pk=pk)


def orientation_registrations(session: OrientationSession) -> QuerySet[OrientationRegistration]:
    """The session's registrations, each with the member who has that address, if any
    (``member_pk``) and the date their attendance at an orientation was recorded
    (``attended_on``): the office records attendance on the member's own record, which the
    register's "not yet at orientation" filter reads."""
    member = Member.objects.filter(user__email__iexact=OuterRef("email"))
    return session.registrations.annotate(
        member_pk=Subquery(member.values("pk")[:1]),
        attended_on=Subquery(member.values("orientation_attended_on")[:1]),
    ).order_by("registered_at", "pk")


def member_certificates(member: Member) -> list[ShareCertificate]:
    """Every certificate of the member, in force first, then by share class and newest."""
    return list(
        ShareCertificate.objects.filter(member=member)
        .select_related("share_class", "superseded_by", "issued_by")
        .order_by("superseded_on", "share_class__name", "-version", "-pk")
    )


def certificate_of_member(member_pk: int, pk: int) -> ShareCertificate:
    """For the office: a certificate of the member named; another member's is a 404."""
    return get_object_or_404(
        ShareCertificate.objects.select_related("share_class", "member"),
        member_id=member_pk,
        pk=pk,
    )
