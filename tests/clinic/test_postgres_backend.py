"""clinic.postgres: statements prepared on PostgreSQL, and bulk writes of any size."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from billing.models import InvoiceRunPreview, InvoiceRunPreviewItem, PayerKind
from clinic.postgres.base import SERVER_SIDE_PARAMS
from members.models import Member

pytestmark = pytest.mark.django_db


def test_a_statement_run_again_on_a_connection_is_prepared():
    assert connection.features.uses_server_side_binding
    for number in range(6):
        list(Member.objects.filter(number=number))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['%FROM "members_member" WHERE "members_member"."number" = $1%'],
        )
        assert cursor.fetchone()[0] == 1


def test_bulk_writes_past_the_parameter_limit_are_split_into_statements_that_fit():
    preview = InvoiceRunPreview.objects.create(
        period=datetime.date(2026, 3, 1), requested_at=timezone.now()
    )
    count = 15_000  # ten columns a row: 150,000 parameters in one INSERT
    assert count * 10 > SERVER_SIDE_PARAMS
    items = InvoiceRunPreviewItem.objects.bulk_create(
        InvoiceRunPreviewItem(
            preview=preview, payer_kind=PayerKind.MEMBER, bill_to_name=f"Payer {n}", total=1
        )
        for n in range(count)
    )
    assert InvoiceRunPreviewItem.objects.filter(preview=preview).count() == count

    for item in items:
        item.bill_to_name, item.total = item.bill_to_name.upper(), Decimal("2.50")
    InvoiceRunPreviewItem.objects.bulk_update(items, ["bill_to_name", "total"])
    rows = InvoiceRunPreviewItem.objects.filter(preview=preview, total=Decimal("2.50"))
    assert rows.count() == count
    assert rows.filter(bill_to_name__startswith="PAYER").count() == count
