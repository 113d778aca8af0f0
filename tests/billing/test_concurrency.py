"""Races with two real database connections: the overdue job against a payment, and two
covers for one member added at once."""

import datetime
import threading
import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from billing import services
from billing.models import CoverEnrolment, InvoiceStatus, PaymentMethod
from tests.billing.factories import ContractFactory
from tests.billing.helpers import contract_invoice
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

D = datetime.date


def wait_for_a_blocked_connection(timeout: float = 5.0) -> bool:
    """True once another connection waits on a row lock (asked from this thread's own)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # Statistics are a snapshot per transaction: drop it to see the present.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.05)
    return False


def in_thread(target, results: dict, key: str) -> threading.Thread:
    def body() -> None:
        from django.db import connection as own

        try:
            results[key] = target()
        except ValidationError as error:
            results[key] = error
        finally:
            own.close()

    thread = threading.Thread(target=body)
    thread.start()
    return thread


def test_the_overdue_job_never_overwrites_a_payment_committing_at_the_same_moment():
    assert connection.vendor == "postgresql"
    invoice = contract_invoice(rate=Decimal("100.00"))
    assert invoice.due_date < D(2026, 6, 1)
    paid_in_transaction = threading.Event()
    results: dict = {}

    def pay() -> str:
        with transaction.atomic():
            services.payment_record(
                invoice=invoice,
                amount=Decimal("100.00"),
                paid_on=D(2026, 4, 20),
                method=PaymentMethod.BANK_TRANSFER,
                today=D(2026, 4, 20),
            )
            paid_in_transaction.set()
            # Commit only once the overdue job is waiting on this invoice's row.
            results["job_waited"] = wait_for_a_blocked_connection()
        return "paid"

    def overdue_job():
        paid_in_transaction.wait(timeout=10)
        return services.invoices_mark_overdue_and_remind(today=D(2026, 6, 1))

    threads = [in_thread(pay, results, "pay"), in_thread(overdue_job, results, "job")]
    for thread in threads:
        thread.join(timeout=30)
    assert results["pay"] == "paid"
    assert results["job_waited"]
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert results["job"] == (0, 0)


def test_two_covers_for_one_member_on_different_contracts_at_once_one_is_refused():
    member = MemberFactory()
    first, second = ContractFactory(), ContractFactory()
    added_first = threading.Event()
    results: dict = {}

    def add_first():
        with transaction.atomic():
            services.enrolment_add(contract=first, member=member, covered_from=D(2027, 1, 1))
            added_first.set()
            # Held open until the second cover is waiting, or (without the member lock)
            # until it has been written beside this one.
            wait_for_a_blocked_connection(timeout=3)
        return "added"

    def add_second():
        added_first.wait(timeout=10)
        services.enrolment_add(contract=second, member=member, covered_from=D(2027, 1, 1))
        return "added"

    threads = [in_thread(add_first, results, "first"), in_thread(add_second, results, "second")]
    for thread in threads:
        thread.join(timeout=30)
    assert results["first"] == "added"
    assert isinstance(results["second"], ValidationError)
    assert "already covered" in " ".join(results["second"].messages)
    assert CoverEnrolment.objects.filter(member=member).count() == 1


def test_a_fee_plans_price_cannot_change_while_a_member_is_being_put_on_it():
    from members import services as members
    from tests.billing.factories import FeePlanFactory

    plan = FeePlanFactory(amount=Decimal("10.00"))
    member = MemberFactory()
    assigned = threading.Event()
    results: dict = {}

    def assign():
        with transaction.atomic():
            members.fee_plan_assign(member=member, plan=plan, valid_from=D(2027, 1, 1))
            assigned.set()
            wait_for_a_blocked_connection(timeout=3)
        return "assigned"

    def reprice():
        assigned.wait(timeout=10)
        return members.fee_plan_save(
            plan=plan,
            name=plan.name,
            amount=Decimal("120.00"),
            currency=plan.currency,
            period="yearly",
            is_available=True,
        )

    threads = [in_thread(assign, results, "assign"), in_thread(reprice, results, "reprice")]
    for thread in threads:
        thread.join(timeout=30)
    assert results["assign"] == "assigned"
    assert isinstance(results["reprice"], ValidationError)
    plan.refresh_from_db()
    assert (plan.amount, plan.period) == (Decimal("10.00"), "monthly")


def test_two_workers_rendering_one_invoice_keep_one_pdf(media_root):
    invoice = contract_invoice()
    from billing.models import Invoice

    Invoice.objects.filter(pk=invoice.pk).update(pdf="")
    before = set(media_root.rglob(f"invoice-{invoice.number}*.pdf"))
    start = threading.Barrier(2)
    results: dict = {}

    def render():
        start.wait(timeout=10)
        return services.invoice_render_pdf(invoice_id=invoice.pk).pdf.name

    threads = [in_thread(render, results, key) for key in ("a", "b")]
    for thread in threads:
        thread.join(timeout=60)
    invoice.refresh_from_db()
    assert results["a"] == results["b"] == invoice.pdf.name
    new_files = set(media_root.rglob(f"invoice-{invoice.number}*.pdf")) - before
    # Whatever the interleaving, no orphan file is left beside the stored one.
    assert {path.name for path in new_files} <= {invoice.pdf.name.rsplit("/", 1)[-1]}


def test_two_overdue_runs_at_once_queue_one_reminder_and_both_finish(settings):
    settings.CLINIC_REMINDER_STEPS_DAYS = [7]
    from billing.models import EmailKind, Invoice, InvoiceEmail

    invoice = contract_invoice()
    Invoice.objects.filter(pk=invoice.pk).update(status=InvoiceStatus.OVERDUE)
    ran_first = threading.Event()
    results: dict = {}

    def first():
        with transaction.atomic():
            outcome = services.invoices_mark_overdue_and_remind(today=D(2026, 6, 1))
            ran_first.set()
            wait_for_a_blocked_connection(timeout=3)
        return outcome

    def second():
        ran_first.wait(timeout=10)
        return services.invoices_mark_overdue_and_remind(today=D(2026, 6, 1))

    threads = [in_thread(first, results, "first"), in_thread(second, results, "second")]
    for thread in threads:
        thread.join(timeout=30)
    assert results["first"] == (0, 1)
    assert results["second"] == (0, 0)
    assert InvoiceEmail.objects.filter(invoice=invoice, kind=EmailKind.REMINDER).count() == 1
