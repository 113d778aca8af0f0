"""Reads of the member register. Other apps ask these; they never query members' tables."""

import datetime

from django.conf import settings
from django.db.models import IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from members.models import FeePlanAssignment, Member, MemberStatus, ShareClass, ShareLedgerEntry


def member_for_user(user) -> Member:
    """The member record of the person logged in (404 when they have none)."""
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


def members_in_good_standing(*, on: datetime.date | None = None) -> QuerySet[Member]:
    """Members in good standing on a date: one query, usable as a subquery.

    In good standing means: active (admitted on or before the date and not ceased), holding
    at least the rules' minimum of every share class, and with no invoice overdue by more
    than ``CLINIC_GOOD_STANDING_GRACE_DAYS``. Governance uses this for voting eligibility.
    """
    from billing.selectors import member_ids_with_invoices_overdue

    on = on or timezone.localdate()
    members = Member.objects.filter(status=MemberStatus.ACTIVE, admitted_on__lte=on).exclude(
        ceased_on__lte=on
    )
    for share_class in ShareClass.objects.filter(minimum_holding__gt=0):
        name = f"holding_{share_class.pk}"
        members = members.annotate(
            **{name: holding_subquery(share_class=share_class, on=on)}
        ).filter(**{f"{name}__gte": share_class.minimum_holding})
    overdue = member_ids_with_invoices_overdue(
        on=on - datetime.timedelta(days=settings.CLINIC_GOOD_STANDING_GRACE_DAYS)
    )
    return members.exclude(pk__in=overdue)


def is_in_good_standing(member: Member, *, on: datetime.date | None = None) -> bool:
    return members_in_good_standing(on=on).filter(pk=member.pk).exists()


def fee_plan_assignments_between(
    *, start: datetime.date, end: datetime.date
) -> QuerySet[FeePlanAssignment]:
    """Fee plan assignments in force on some day from ``start`` to ``end`` (inclusive)."""
    return (
        FeePlanAssignment.objects.filter(valid_from__lte=end)
        .exclude(valid_to__lt=start)
        .select_related("member__user", "plan")
    )
