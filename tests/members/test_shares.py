import datetime
import threading
import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic.roles import Role
from members import selectors, services
from members.models import MemberStatus, ShareLedgerEntry, ShareLedgerKind
from tests.concurrency import at_once
from tests.factories import user_with_role
from tests.members.factories import MemberFactory, ShareClassFactory, holding

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return user_with_role(Role.ADMINISTRATOR)


@pytest.fixture
def share_class():
    return ShareClassFactory(minimum_holding=1, par_value=Decimal("50.00"))


def held(member, share_class) -> int:
    return (
        ShareLedgerEntry.objects.filter(member=member, share_class=share_class).aggregate(
            total=Sum("quantity")
        )["total"]
        or 0
    )


def test_transfer_moves_shares_with_two_entries_sharing_a_reference(admin, share_class):
    giver, receiver = MemberFactory(), MemberFactory()
    holding(giver, share_class, 3)
    out, into = services.share_transfer(
        from_member=giver, to_member=receiver, share_class=share_class, quantity=2, by=admin
    )
    assert (out.kind, out.quantity, into.kind, into.quantity) == (
        "transfer_out",
        -2,
        "transfer_in",
        2,
    )
    assert out.reference == into.reference != ""
    assert (held(giver, share_class), held(receiver, share_class)) == (1, 2)


def test_transfer_or_redemption_cannot_take_a_holding_below_zero(admin, share_class):
    giver, receiver = MemberFactory(), MemberFactory()
    holding(giver, share_class, 1)
    with pytest.raises(ValidationError, match="holds 1"):
        services.share_transfer(
            from_member=giver, to_member=receiver, share_class=share_class, quantity=2, by=admin
        )
    giver.status = MemberStatus.WITHDRAWN
    giver.save()
    with pytest.raises(ValidationError, match="holds 1"):
        services.share_redeem(member=giver, share_class=share_class, quantity=2, by=admin)
    assert held(giver, share_class) == 1


def test_current_members_keep_the_minimum_but_leavers_are_paid_back_at_par(admin, share_class):
    member = MemberFactory()
    holding(member, share_class, 3)
    with pytest.raises(ValidationError, match="keeps at least 1"):
        services.share_redeem(member=member, share_class=share_class, quantity=3, by=admin)
    entry = services.share_redeem(member=member, share_class=share_class, quantity=2, by=admin)
    assert (entry.kind, entry.quantity, entry.amount) == ("redemption", -2, Decimal("-100.00"))
    services.member_change_status(member=member, to_status="withdrawn", by=admin, reason="Moved")
    services.share_redeem(member=member, share_class=share_class, quantity=1, by=admin)
    assert held(member, share_class) == 0


def test_shares_go_only_to_active_members_and_never_to_oneself(admin, share_class):
    giver = MemberFactory()
    holding(giver, share_class, 2)
    with pytest.raises(ValidationError, match="active member"):
        services.share_transfer(
            from_member=giver,
            to_member=MemberFactory(status=MemberStatus.LAPSED),
            share_class=share_class,
            quantity=1,
            by=admin,
        )
    with pytest.raises(ValidationError, match="same member"):
        services.share_transfer(
            from_member=giver, to_member=giver, share_class=share_class, quantity=1, by=admin
        )
    with pytest.raises(ValidationError, match="at least 1"):
        services.share_subscribe(member=giver, share_class=share_class, quantity=0, by=admin)
    with pytest.raises(ValidationError, match="future"):
        services.share_subscribe(
            member=giver,
            share_class=share_class,
            quantity=1,
            by=admin,
            on=datetime.date.today() + datetime.timedelta(days=2),
        )


def test_reversal_negates_both_legs_of_a_transfer_once(admin, share_class):
    giver, receiver = MemberFactory(), MemberFactory()
    holding(giver, share_class, 2)
    out, _into = services.share_transfer(
        from_member=giver, to_member=receiver, share_class=share_class, quantity=2, by=admin
    )
    reversals = services.share_entry_reverse(entry=out, by=admin, reason="Wrong member")
    assert {r.kind for r in reversals} == {ShareLedgerKind.REVERSAL}
    assert (held(giver, share_class), held(receiver, share_class)) == (2, 0)
    with pytest.raises(ValidationError, match="already been reversed"):
        services.share_entry_reverse(entry=out, by=admin, reason="Again")
    with pytest.raises(ValidationError, match="cannot itself be reversed"):
        services.share_entry_reverse(entry=reversals[0], by=admin, reason="Again")


def test_reversing_a_subscription_cannot_leave_a_negative_holding(admin, share_class):
    giver, receiver = MemberFactory(), MemberFactory()
    subscription = services.share_subscribe(
        member=giver, share_class=share_class, quantity=2, by=admin
    )
    services.share_transfer(
        from_member=giver, to_member=receiver, share_class=share_class, quantity=2, by=admin
    )
    with pytest.raises(ValidationError, match="cannot be taken"):
        services.share_entry_reverse(entry=subscription, by=admin, reason="Mistake")


def test_payments_record_money_and_holdings_show_it(admin, share_class):
    member = MemberFactory()
    services.share_subscribe(member=member, share_class=share_class, quantity=2, by=admin)
    services.share_payment(
        member=member, share_class=share_class, amount=Decimal("60.00"), by=admin
    )
    with pytest.raises(ValidationError, match="more than zero"):
        services.share_payment(member=member, share_class=share_class, amount=Decimal(0), by=admin)
    [row] = selectors.holdings_of(member)
    assert (row["shares"], row["paid"], row["value"]) == (2, Decimal("60.00"), Decimal("100.00"))


def test_ledger_rows_cannot_be_changed_or_deleted_through_the_orm(share_class):
    entry = holding(MemberFactory(), share_class, 1)
    entry.quantity = 5
    with pytest.raises(ValidationError):
        entry.save()
    with pytest.raises(ValidationError):
        entry.delete()
    with pytest.raises(ValidationError):
        ShareLedgerEntry.objects.filter(pk=entry.pk).update(quantity=5)
    with pytest.raises(ValidationError):
        ShareLedgerEntry.objects.all().delete()
    assert ShareLedgerEntry.objects.get(pk=entry.pk).quantity == 1


def test_the_database_itself_refuses_to_change_ledger_rows(share_class):
    entry = holding(MemberFactory(), share_class, 1)
    assert connection.vendor == "postgresql"
    for statement in (
        "UPDATE members_shareledgerentry SET quantity = 5 WHERE id = %s",
        "DELETE FROM members_shareledgerentry WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [entry.pk])
    assert ShareLedgerEntry.objects.get(pk=entry.pk).quantity == 1


def test_a_backdated_redemption_cannot_make_a_later_holding_negative(admin, share_class):
    """Held 2, gave 2 away in mid-2025, took 2 again in 2026: today's holding is 2, but a
    redemption dated before the transfer would leave -1 shares from the transfer on."""
    member, receiver = MemberFactory(), MemberFactory()
    services.share_subscribe(
        member=member, share_class=share_class, quantity=2, by=admin, on=datetime.date(2024, 1, 1)
    )
    services.share_transfer(
        from_member=member,
        to_member=receiver,
        share_class=share_class,
        quantity=2,
        by=admin,
        on=datetime.date(2025, 6, 1),
    )
    services.share_subscribe(
        member=member, share_class=share_class, quantity=2, by=admin, on=datetime.date(2026, 1, 1)
    )
    with pytest.raises(ValidationError, match=r"holds 0 .* from 2025-01-01"):
        services.share_redeem(
            member=member,
            share_class=share_class,
            quantity=1,
            by=admin,
            on=datetime.date(2025, 1, 1),
        )
    with pytest.raises(ValidationError, match="holds 0"):
        services.share_transfer(
            from_member=member,
            to_member=receiver,
            share_class=share_class,
            quantity=1,
            by=admin,
            on=datetime.date(2025, 1, 1),
        )
    # Dated after the shares came back, the same redemption is fine.
    services.share_redeem(
        member=member, share_class=share_class, quantity=1, by=admin, on=datetime.date(2026, 2, 1)
    )
    assert held(member, share_class) == 1


def test_a_backdated_transfer_cannot_spend_shares_subscribed_after_its_date(admin, share_class):
    member, receiver = MemberFactory(), MemberFactory()
    services.share_subscribe(
        member=member, share_class=share_class, quantity=1, by=admin, on=datetime.date(2024, 1, 1)
    )
    services.share_subscribe(
        member=member, share_class=share_class, quantity=1, by=admin, on=datetime.date(2026, 1, 1)
    )
    with pytest.raises(ValidationError, match="holds 1"):
        services.share_transfer(
            from_member=member,
            to_member=receiver,
            share_class=share_class,
            quantity=2,
            by=admin,
            on=datetime.date(2025, 1, 1),
        )
    assert held(receiver, share_class) == 0


def holdings_by_date(member, share_class) -> list[int]:
    """The member's holding at the end of every date that has entries, in date order."""
    running, holdings = 0, []
    for _day, change in (
        ShareLedgerEntry.objects.filter(member=member, share_class=share_class)
        .values("entry_date")
        .annotate(change=Sum("quantity"))
        .order_by("entry_date")
        .values_list("entry_date", "change")
    ):
        running += change
        holdings.append(running)
    return holdings


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["subscribe", "transfer", "redeem", "reverse", "pay"]),
        st.integers(0, 3),
        st.integers(0, 3),
        st.integers(1, 4),
        # How many days ago the entry is dated: random past dates, as an administrator
        # catching up on the register would enter them.
        st.integers(0, 900),
    ),
    max_size=12,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=OPERATIONS)
def test_holdings_always_add_up_to_the_share_capital_and_none_is_negative_on_any_date(
    admin, share_class, operations
):
    with transaction.atomic():
        members = [MemberFactory() for _ in range(4)]
        members[3].status = MemberStatus.WITHDRAWN
        members[3].save()
        for member in members:
            holding(member, share_class, 1)
        today = datetime.date.today()
        for kind, a, b, quantity, days_ago in operations:
            on = today - datetime.timedelta(days=days_ago)
            try:
                if kind == "subscribe":
                    services.share_subscribe(
                        member=members[a],
                        share_class=share_class,
                        quantity=quantity,
                        by=admin,
                        on=on,
                    )
                elif kind == "transfer":
                    services.share_transfer(
                        from_member=members[a],
                        to_member=members[b],
                        share_class=share_class,
                        quantity=quantity,
                        by=admin,
                        on=on,
                    )
                elif kind == "redeem":
                    services.share_redeem(
                        member=members[a],
                        share_class=share_class,
                        quantity=quantity,
                        by=admin,
                        on=on,
                    )
                elif kind == "pay":
                    services.share_payment(
                        member=members[a],
                        share_class=share_class,
                        amount=Decimal(quantity),
                        by=admin,
                        on=on,
                    )
                else:
                    entries = list(ShareLedgerEntry.objects.order_by("pk"))
                    services.share_entry_reverse(
                        entry=entries[(a * 7 + b) % len(entries)], by=admin, reason="Correction"
                    )
            except ValidationError:
                pass  # A refused operation must leave the ledger as it was.
        holdings = [selectors.holdings_of(member) for member in members]
        per_member = [rows[0]["shares"] if rows else 0 for rows in holdings]
        [capital] = selectors.share_capital()
        assert all(shares >= 0 for shares in per_member)
        # Not only today: on every date from the first entry on, whatever the entries' order.
        for member in members:
            assert all(shares >= 0 for shares in holdings_by_date(member, share_class))
        assert sum(per_member) == capital.shares
        assert sum(per_member) * share_class.par_value == capital.value
        assert sum(rows[0]["paid"] for rows in holdings if rows) == capital.paid
        transaction.set_rollback(True)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_transfers_at_once_cannot_both_spend_the_same_share():
    """The first transfer holds its lock while the second starts: the second must wait,
    then see the share gone. Without the row lock both would read a holding of 1."""
    admin = user_with_role(Role.ADMINISTRATOR)
    share_class = ShareClassFactory()
    giver, first_receiver, second_receiver = MemberFactory(), MemberFactory(), MemberFactory()
    holding(giver, share_class, 1)
    first_locked = threading.Event()
    outcomes: dict[str, str] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                services.share_transfer(
                    from_member=giver,
                    to_member=first_receiver,
                    share_class=share_class,
                    quantity=1,
                    by=admin,
                )
                first_locked.set()
                time.sleep(1)
            outcomes["first"] = "done"
        except ValidationError as error:
            outcomes["first"] = str(error)
        finally:
            first_locked.set()
            connections.close_all()

    def second() -> None:
        first_locked.wait(10)
        try:
            services.share_transfer(
                from_member=giver,
                to_member=second_receiver,
                share_class=share_class,
                quantity=1,
                by=admin,
            )
            outcomes["second"] = "done"
        except ValidationError as error:
            outcomes["second"] = str(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes["first"] == "done"
    assert "holds 0" in outcomes["second"]
    assert held(giver, share_class) == 0
    assert held(first_receiver, share_class) == 1
    assert held(second_receiver, share_class) == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_approvals_at_once_get_consecutive_numbers():
    from tests.members.factories import ApplicantFactory

    admin = user_with_role(Role.ADMINISTRATOR)
    MemberFactory(number=10)
    applicants = [ApplicantFactory(), ApplicantFactory()]
    outcomes = at_once(
        *[
            lambda applicant=applicant: services.member_approve(
                member=applicant, by=admin, base_url="http://x/"
            )
            for applicant in applicants
        ]
    )
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert errors == []
    numbers = sorted(a.__class__.objects.get(pk=a.pk).number for a in applicants)
    assert numbers == [11, 12]
