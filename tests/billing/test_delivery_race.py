"""Two workers deliver the same invoice at once (a duplicated task): one email, sent once."""

import threading

import pytest
from django.db import connection, transaction

from billing.models import DeliveryStatus, Invoice, InvoiceEmail
from billing.tasks import deliver_invoice
from tests.billing.helpers import contract_invoice

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

WORKERS = 3


def test_workers_delivering_the_same_invoice_at_once_create_and_send_one_email(mailoutbox):
    with transaction.atomic():
        invoice = contract_invoice()
        # Not yet delivered: drop the run's queued delivery, as if its message were late.
        connection.run_on_commit.clear()
    assert not InvoiceEmail.objects.filter(invoice=invoice).exists()
    barrier = threading.Barrier(WORKERS)
    errors: list[BaseException] = []

    def worker() -> None:
        from django.db import connection as thread_connection

        try:
            barrier.wait(timeout=10)
            # Each reads "no email yet" before rendering (about 0.1 s), so the inserts race.
            deliver_invoice(invoice.pk)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    email = InvoiceEmail.objects.get(invoice=invoice)
    assert email.status == DeliveryStatus.SENT and email.attempts == 1
    assert len(mailoutbox) == 1
    assert Invoice.objects.get(pk=invoice.pk).pdf
