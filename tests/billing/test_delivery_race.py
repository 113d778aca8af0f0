"""Two workers deliver the same invoice at once (a duplicated task): one email, sent once."""

import pytest
from django.db import connection, transaction

from billing.models import DeliveryStatus, Invoice, InvoiceEmail
from billing.tasks import deliver_invoice
from tests.billing.helpers import contract_invoice
from tests.concurrency import at_once

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

WORKERS = 3


def test_workers_delivering_the_same_invoice_at_once_create_and_send_one_email(mailoutbox):
    with transaction.atomic():
        invoice = contract_invoice()
        # Not yet delivered: drop the run's queued delivery, as if its message were late.
        connection.run_on_commit.clear()
    assert not InvoiceEmail.objects.filter(invoice=invoice).exists()
    # Each reads "no email yet" before rendering (about 0.1 s), so the inserts race.
    outcomes = at_once(*[lambda: deliver_invoice(invoice.pk)] * WORKERS)
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert errors == []
    email = InvoiceEmail.objects.get(invoice=invoice)
    assert email.status == DeliveryStatus.SENT and email.attempts == 1
    assert len(mailoutbox) == 1
    assert Invoice.objects.get(pk=invoice.pk).pdf
