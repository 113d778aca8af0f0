"""Reads of contracts and invoices that other apps may use."""

import datetime

from django.db.models import QuerySet


def member_ids_with_invoices_overdue(*, on: datetime.date) -> QuerySet:
    """Ids of members with an unpaid invoice that fell due before ``on``.

    Members' good standing excludes these. Until member invoices exist (the billing
    issue), no member has one, so the answer is the empty set.
    """
    from members.models import Member

    return Member.objects.none().values("pk")
