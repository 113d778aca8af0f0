"""Invoice and credit-note numbers taken at the same moment by two real database
connections: 1..N in each series and year, with no gap and no duplicate, even when one of
the two transactions rolls back.

The threads call the numbering services themselves. What they queue for after the commit
(rendering and mailing the documents, Celery tasks run eagerly in tests) is dropped: the
race is about numbers, and an eager task run in a thread left Celery's task stack set, so
that later tests failed with "Never call result.get() within a task".
"""

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from billing import services
from billing.models import CreditNote, Invoice
from tests.billing.factories import EnrolmentFactory
from tests.billing.helpers import MARCH, RUN_DAY, contract_invoice
from tests.billing.test_concurrency import in_thread, wait_for_a_blocked_connection

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


class RolledBack(Exception):
    pass


def _numbering(issue, results: dict, *, first: bool, roll_back: bool = False):
    """``issue`` in its own transaction on this thread's connection. The first holds the
    series counter, once it has its number, until the other connection queues on it."""

    def run():
        if not first:
            assert results["first_numbered"].wait(timeout=10)
        try:
            with transaction.atomic():
                issued = issue()
                if first:
                    results["first_numbered"].set()
                    results["second_waited"] = wait_for_a_blocked_connection()
                # Numbers only: no rendering or mailing tasks after the commit.
                connection.run_on_commit.clear()
                if roll_back:
                    raise RolledBack
                return issued
        except RolledBack:
            return None

    return run


def _race(first_issue, second_issue, *, roll_back: bool) -> dict:
    assert connection.vendor == "postgresql"
    results: dict = {"first_numbered": threading.Event()}
    threads = [
        in_thread(_numbering(first_issue, results, first=True, roll_back=roll_back), results, "a"),
        in_thread(_numbering(second_issue, results, first=False), results, "b"),
    ]
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive()
    # The two really overlapped: the second waited on the first's counter lock.
    assert results["second_waited"] is True
    return results


def _run(contract_id: int):
    return lambda: (
        services.invoice_run(
            period=MARCH, today=RUN_DAY, contract_ids=[contract_id], include_members=False
        ).created
    )


@pytest.mark.parametrize("roll_back", [False, True], ids=["both_commit", "first_rolls_back"])
def test_two_invoice_runs_at_once_number_without_gap_or_duplicate(roll_back):
    first, second = (
        EnrolmentFactory(contract__rate_per_member_month=Decimal("100.00")).contract_id
        for _ in range(2)
    )
    results = _race(_run(first), _run(second), roll_back=roll_back)
    assert len(results["b"]) == 1
    expected = 1 if roll_back else 2
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == [f"{RUN_DAY.year}-{n:06d}" for n in range(1, expected + 1)]
    # A rerun of the rolled-back contract takes the next number, still without a gap.
    with transaction.atomic():
        _run(first)()
        connection.run_on_commit.clear()
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [
        f"{RUN_DAY.year}-{n:06d}" for n in (1, 2)
    ]


def _credit(invoice: Invoice):
    return lambda: services.credit_note_issue(
        invoice=invoice, amount=Decimal("10.00"), reason="Race", today=RUN_DAY
    )


@pytest.mark.parametrize("roll_back", [False, True], ids=["both_commit", "first_rolls_back"])
def test_two_credit_notes_at_once_number_without_gap_or_duplicate(roll_back):
    with transaction.atomic():
        one, two = contract_invoice(), contract_invoice()
        connection.run_on_commit.clear()
    _race(_credit(one), _credit(two), roll_back=roll_back)
    expected = 1 if roll_back else 2
    numbers = sorted(CreditNote.objects.values_list("number", flat=True))
    assert numbers == [f"CN-{RUN_DAY.year}-{n:06d}" for n in range(1, expected + 1)]
    assert CreditNote.objects.filter(invoice=two).count() == 1
    with transaction.atomic():
        _credit(one)()
        connection.run_on_commit.clear()
    assert sorted(CreditNote.objects.values_list("number", flat=True))[-1] == (
        f"CN-{RUN_DAY.year}-{2 if roll_back else 3:06d}"
    )
