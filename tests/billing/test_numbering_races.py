"""Two invoice runs at once, for different contracts, with two real database connections:
invoice numbers stay 1..N in each year, with no gap and no duplicate, even when one of
the runs rolls back."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from billing import services
from billing.models import Invoice
from tests.billing.factories import EnrolmentFactory
from tests.billing.helpers import MARCH, RUN_DAY
from tests.billing.test_concurrency import in_thread, wait_for_a_blocked_connection

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


class RolledBack(Exception):
    pass


def _two_contracts() -> list[int]:
    return [
        EnrolmentFactory(contract__rate_per_member_month=Decimal("100.00")).contract_id
        for _ in range(2)
    ]


def _run_holding_the_counter(contract_id: int, results: dict, *, roll_back: bool):
    """A run that, once its invoice is numbered, waits for the other run to queue on the
    number counter before it commits (or rolls back)."""

    def run():
        try:
            with transaction.atomic():
                created = services.invoice_run(
                    period=MARCH, today=RUN_DAY, contract_ids=[contract_id], include_members=False
                ).created
                results["first_numbered"].set()
                results["second_waited"] = wait_for_a_blocked_connection()
                if roll_back:
                    raise RolledBack
                return created
        except RolledBack:
            return []

    return run


def _second_run(contract_id: int, results: dict):
    def run():
        results["first_numbered"].wait(timeout=10)
        return services.invoice_run(
            period=MARCH, today=RUN_DAY, contract_ids=[contract_id], include_members=False
        ).created

    return run


@pytest.mark.parametrize("roll_back", [False, True], ids=["both_commit", "first_rolls_back"])
def test_two_runs_at_once_for_different_contracts_number_without_gap_or_duplicate(roll_back):
    assert connection.vendor == "postgresql"
    first, second = _two_contracts()
    results: dict = {"first_numbered": threading.Event()}
    threads = [
        in_thread(_run_holding_the_counter(first, results, roll_back=roll_back), results, "a"),
        in_thread(_second_run(second, results), results, "b"),
    ]
    for thread in threads:
        thread.join(timeout=30)
    # The runs really overlapped: the second waited on the first's counter lock.
    assert results["second_waited"] is True
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    expected = 1 if roll_back else 2
    assert numbers == [f"{RUN_DAY.year}-{n:06d}" for n in range(1, expected + 1)]
    assert Invoice.objects.filter(contract_id=second).count() == 1
    assert Invoice.objects.filter(contract_id=first).count() == (0 if roll_back else 1)
    # A rerun of the rolled-back contract takes the next number, still without a gap.
    services.invoice_run(period=MARCH, today=RUN_DAY, contract_ids=[first], include_members=False)
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [
        f"{RUN_DAY.year}-{n:06d}" for n in (1, 2)
    ]
