"""A worker is SIGKILLed in the middle of the invoice run and of a notice fan-out.

A new worker finishes the work: acks_late keeps the killed worker's task in Redis until
the visibility timeout gives it back, and the tasks are idempotent, so every invoice
exists once with numbers 1..N and every member gets one notice.
"""

import asyncio
import base64
import json
import threading
import time
from collections import Counter

import pytest
import redis
from django.db import connection, connections, transaction
from django.urls import reverse
from django.utils import timezone

from billing import rules, selectors, services
from billing.models import Invoice
from billing.tasks import run_invoicing
from clinic.delivery import DELIVERY_GROUP, DeliveryStatus
from clinic.roles import Role
from governance import services as governance_services
from governance.models import NoticeDelivery
from tests.billing.factories import FeePlanAssignmentFactory, FeePlanFactory
from tests.conftest import SMTPServer
from tests.factories import user_with_role
from tests.governance.factories import MeetingFactory
from tests.members.factories import MemberFactory

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# One full batch of the run and part of a second.
INVOICES = services.RUN_BATCH_SIZE + 50
NOTICES = 160


def wait_until(condition, *, timeout: float = 120, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out waiting for {what}")
        time.sleep(0.2)


def backends_waiting_for_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


class HeldInvoice:
    """An uncommitted invoice for one member, in a second connection.

    The run's insert of that member's invoice waits on the unique (member, period) index
    until this transaction ends: the run is stopped exactly there, some batches committed
    and the rest not.
    """

    def __init__(self, draft) -> None:
        self.draft = draft
        self.holding = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._hold)

    def _hold(self) -> None:
        try:
            with transaction.atomic():
                d = self.draft
                Invoice.objects.bulk_create(
                    [
                        Invoice(
                            number="HELD-BY-TEST", member_id=d.member_id, period=d.period,
                            issue_date=d.issue_date, due_date=d.due_date, currency=d.currency,
                            total=d.total, bill_to_name=d.bill_to_name,
                            bill_to_email=d.bill_to_email,
                        )
                    ]
                )  # fmt: skip
                self.holding.set()
                self.release.wait(timeout=120)
                transaction.set_rollback(True)
        finally:
            connections.close_all()

    def __enter__(self):
        self.thread.start()
        assert self.holding.wait(timeout=30)
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(timeout=30)


def queued_task_args(broker_url: str, task: str, queue: str = "celery") -> list:
    """The arguments of every ``task`` message waiting in a queue of the private Redis."""
    found = []
    for raw in redis.Redis.from_url(broker_url).lrange(queue, 0, -1):
        message = json.loads(raw)
        if message["headers"]["task"] == task:
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            found.append(tuple(args))
    return found


def test_an_invoice_run_whose_worker_is_killed_is_finished_by_the_next_worker_once(
    killable_worker, private_broker
):
    plan = FeePlanFactory()
    FeePlanAssignmentFactory.create_batch(INVOICES, plan=plan)
    today = timezone.localdate()
    period = rules.previous_month(today)
    drafts = selectors.invoice_run_preview(
        period=period, today=today, contract_ids=[], include_members=True
    ).drafts
    assert len(drafts) == INVOICES
    # The run issues drafts in issue-date order, in batches: hold the last one's invoice.
    last = sorted(drafts, key=lambda draft: draft.issue_date)[-1]
    # Only the invoice run is consumed: the PDFs and emails it queues stay in Redis, where
    # the test counts them.
    worker = killable_worker(queues="invoicing")
    worker.start()

    with HeldInvoice(last):
        run_invoicing.apply_async(args=(period.isoformat(), [], True), queue="invoicing")
        wait_until(lambda: backends_waiting_for_a_lock() > 0, what="the run to reach the held row")
        issued_before_kill = Invoice.objects.count()
        assert 0 < issued_before_kill < INVOICES
        worker.kill()
    # The killed batch rolled back with its connection; its numbers were given back.
    assert Invoice.objects.count() == issued_before_kill

    worker.start()
    wait_until(lambda: Invoice.objects.count() == INVOICES, what="the run to be finished")
    invoices = list(Invoice.objects.order_by("number"))
    year = invoices[0].issue_date.year
    assert [i.number for i in invoices] == [f"{year}-{n:06d}" for n in range(1, INVOICES + 1)]
    assert Counter(i.member_id for i in invoices) == Counter({d.member_id: 1 for d in drafts})
    # Each invoice's PDF and email is queued once (one fan-out message per committed
    # batch): the killed batch queued nothing.
    batches = queued_task_args(private_broker.url, "billing.tasks.deliver_invoices")
    queued = [pk for (ids,) in batches for pk in ids]
    assert sorted(queued) == sorted(i.pk for i in invoices)
    worker.stop()
    # Running it again issues nothing (the periodic run may fire twice).
    assert run_invoicing.apply(args=(period.isoformat(), [], True)).get() == 0


class HoldingSMTPServer(SMTPServer):
    """Accepts mail, except that the ``hold_at``-th message is held unanswered until
    released; then it is refused (451), so it never arrives."""

    def __init__(self, *, hold_at: int) -> None:
        super().__init__()
        self.hold_at = hold_at
        self.seen = 0
        self.holding = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:
        self.seen += 1
        if self.seen == self.hold_at:
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 Try again later"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def holding_smtp():
    server = HoldingSMTPServer(hold_at=NOTICES // 2)
    server.controller.start()
    yield server
    server.release.set()
    server.controller.stop()


def test_a_notice_fan_out_whose_worker_is_killed_mails_each_member_exactly_once(
    killable_worker, holding_smtp, client, settings
):
    settings.CLINIC_NOTICE_CHUNK_SIZE = 40
    members = MemberFactory.create_batch(NOTICES)
    meeting = MeetingFactory()
    worker = killable_worker(email_url=holding_smtp.url)
    worker.start()
    governance_services.meeting_send_notice(meeting=meeting)

    # The worker is in the middle of handing one notice to the mail server: kill it there.
    assert holding_smtp.holding.wait(timeout=120)
    sent_before_kill = NoticeDelivery.objects.filter(status=DeliveryStatus.SENT).count()
    assert 0 < sent_before_kill < NOTICES
    worker.kill()
    holding_smtp.release.set()

    worker.start()

    def settled() -> bool:
        statuses = Counter(NoticeDelivery.objects.values_list("status", flat=True))
        return statuses[DeliveryStatus.SENT] + statuses[DeliveryStatus.UNKNOWN] == NOTICES

    wait_until(settled, what="every notice to be sent or marked unknown")
    # The group being sent when the worker died was claimed and never recorded: the
    # notices of it handed over before the kill arrived, the held one and any behind it
    # did not. The next attempt cannot tell them apart, so it resends none of them: all are
    # "unknown", for staff to check (clinic.delivery). Nothing else is.
    unknown = list(
        NoticeDelivery.objects.select_related("member__user").filter(status=DeliveryStatus.UNKNOWN)
    )
    assert 1 <= len(unknown) <= DELIVERY_GROUP
    received = Counter(m["X-Envelope-To"] for m in holding_smtp.messages)
    sent = Counter(
        NoticeDelivery.objects.filter(status=DeliveryStatus.SENT).values_list(
            "member__user__email", flat=True
        )
    )
    # Nothing arrived twice, and nothing is marked sent that the server did not accept.
    assert set(received.values()) == {1}
    arrived_unknown = [d for d in unknown if d.member.user.email in received]
    assert received == sent + Counter(d.member.user.email for d in arrived_unknown)
    missing = [d for d in unknown if d.member.user.email not in received]
    assert missing  # the held one, at least

    # Staff check which did not arrive and send those again: they go, once.
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    for delivery in missing:
        client.post(reverse("governance:notice_requeue", args=[meeting.pk, delivery.pk]))
    wait_until(
        lambda: (
            NoticeDelivery.objects.filter(status=DeliveryStatus.SENT).count()
            == NOTICES - len(arrived_unknown)
        ),
        what="the resent notices",
    )
    received = Counter(m["X-Envelope-To"] for m in holding_smtp.messages)
    assert received == Counter({member.user.email: 1 for member in members})
