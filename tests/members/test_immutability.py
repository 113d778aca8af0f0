"""The register's history and assigned prices cannot change below the ORM (issue 9)."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from psycopg import sql

from clinic.roles import Role
from members import services
from members.models import FeePlan, MemberStatusEvent, ShareLedgerEntry
from tests.billing.factories import FeePlanAssignmentFactory, FeePlanFactory
from tests.factories import user_with_role
from tests.members.factories import MemberFactory, ShareClassFactory, holding

pytestmark = pytest.mark.django_db


def run(statement: str, params=None, **names: str) -> None:
    """Execute raw SQL; ``names`` are table and column names, quoted as identifiers."""
    names = {k: sql.Identifier(v) for k, v in names.items()}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql.SQL(statement).format(**names), params)


@pytest.fixture
def status_event() -> MemberStatusEvent:
    member = MemberFactory()
    services.member_change_status(
        member=member, to_status="suspended", by=user_with_role(Role.ADMINISTRATOR), reason="x"
    )
    return member.status_events.get()


def test_the_database_refuses_to_rewrite_or_delete_status_history(status_event):
    assert connection.vendor == "postgresql"
    with pytest.raises(DatabaseError, match="UPDATE on members_memberstatusevent refused"):
        run(
            "UPDATE members_memberstatusevent SET effective_on = %s WHERE id = %s",
            [datetime.date(2020, 1, 1), status_event.pk],
        )
    with pytest.raises(DatabaseError, match="DELETE on members_memberstatusevent refused"):
        run("DELETE FROM members_memberstatusevent WHERE id = %s", [status_event.pk])
    assert MemberStatusEvent.objects.get(pk=status_event.pk).effective_on != datetime.date(
        2020, 1, 1
    )


@pytest.mark.parametrize("table", ["members_memberstatusevent", "members_shareledgerentry"])
def test_the_database_refuses_to_truncate_the_registers_history(status_event, table):
    holding(status_event.member, ShareClassFactory(), 1)
    run("SET CONSTRAINTS ALL IMMEDIATE")  # as a commit would: no pending FK checks
    with pytest.raises(DatabaseError, match=f"TRUNCATE on {table} refused"):
        run("TRUNCATE {table} CASCADE", table=table)
    assert MemberStatusEvent.objects.exists() and ShareLedgerEntry.objects.exists()


def test_the_orm_refuses_to_change_status_history(status_event):
    status_event.reason = "rewritten"
    with pytest.raises(ValidationError, match="cannot be changed"):
        status_event.save()
    with pytest.raises(ValidationError, match="cannot be deleted"):
        status_event.delete()
    with pytest.raises(ValidationError, match="cannot be changed"):
        MemberStatusEvent.objects.filter(pk=status_event.pk).update(reason="rewritten")
    with pytest.raises(ValidationError, match="cannot be deleted"):
        MemberStatusEvent.objects.filter(pk=status_event.pk).delete()


@pytest.mark.parametrize(
    ("column", "value"), [("amount", "120.00"), ("period", "yearly"), ("currency", "USD")]
)
def test_the_database_refuses_to_reprice_an_assigned_fee_plan(column, value):
    plan = FeePlanAssignmentFactory(plan__amount=Decimal("10.00")).plan
    with pytest.raises(DatabaseError, match="is assigned to members"):
        run(
            "UPDATE members_feeplan SET {column} = %s WHERE id = %s",
            [value, plan.pk],
            column=column,
        )
    plan.refresh_from_db()
    assert (plan.amount, plan.period, plan.currency) == (Decimal("10.00"), "monthly", "EUR")


def test_an_assigned_plan_keeps_its_name_editable_and_an_unassigned_plan_its_price():
    assigned = FeePlanAssignmentFactory().plan
    run(
        "UPDATE members_feeplan SET name = 'Renamed', is_available = false WHERE id = %s",
        [assigned.pk],
    )
    unassigned = FeePlanFactory(amount=Decimal("10.00"))
    run("UPDATE members_feeplan SET amount = 12 WHERE id = %s", [unassigned.pk])
    assert FeePlan.objects.get(pk=assigned.pk).name == "Renamed"
    assert FeePlan.objects.get(pk=unassigned.pk).amount == Decimal("12.00")


def test_the_orm_refuses_to_reprice_an_assigned_fee_plan():
    plan = FeePlanAssignmentFactory(plan__amount=Decimal("10.00")).plan
    plan.amount = Decimal("120.00")
    with pytest.raises(ValidationError, match="Create a new plan"):
        plan.save()
    plan.refresh_from_db()
    plan.name = "Renamed"
    plan.save()
    assert FeePlan.objects.get(pk=plan.pk).amount == Decimal("10.00")
