"""``deliver_batch``: many emails claimed, sent and recorded a group at a time, each at
most once, whatever runs twice, at the same time, is refused, hangs up or crashes."""

import threading
import time

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from clinic.delivery import NOT_HANDED_OVER, DeliveryStatus, deliver_batch, delivery_requeue
from governance import services, tasks
from governance.models import DeliveryChannel, NoticeDelivery
from tests.conftest import SMTPServer, _free_port
from tests.governance.factories import MeetingFactory
from tests.members.factories import MemberFactory
from tests.servers import HangingSmtpPeer

pytestmark = pytest.mark.django_db


def queued_notices(count: int) -> tuple[int, list[NoticeDelivery]]:
    """``count`` email notices of a meeting, queued and not sent (no task runs)."""
    meeting = MeetingFactory()
    members = MemberFactory.create_batch(count)
    rows = NoticeDelivery.objects.bulk_create(
        [NoticeDelivery(meeting=meeting, member=m, channel=DeliveryChannel.EMAIL) for m in members]
    )
    return meeting.pk, sorted(rows, key=lambda row: row.pk)


def notices():
    return NoticeDelivery.objects.select_related("member__user")


def plain(delivery: NoticeDelivery) -> EmailMessage:
    return EmailMessage(subject="Notice", body="Hello", to=[delivery.member.user.email])


def statuses(rows) -> list[str]:
    by_pk = dict(NoticeDelivery.objects.values_list("pk", "status"))
    return [by_pk[row.pk] for row in rows]


def use_mail_server(settings, host: str, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = host, port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5


def test_a_chunk_run_twice_mails_each_member_once():
    meeting_id, rows = queued_notices(5)
    ids = [row.pk for row in rows]
    assert services.notice_send_chunk(meeting_id=meeting_id, delivery_ids=ids) == 0
    assert services.notice_send_chunk(meeting_id=meeting_id, delivery_ids=ids) == 0
    assert sorted(m.to[0] for m in mail.outbox) == sorted(r.member.user.email for r in rows)
    assert statuses(rows) == [DeliveryStatus.SENT] * 5
    assert set(NoticeDelivery.objects.values_list("attempts", flat=True)) == {1}


def backends_waiting_for_a_lock() -> int:
    with connection.cursor() as cursor:
        # Inside a transaction the statistics views keep their first reading unless told.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_running_the_same_chunk_at_once_mail_each_member_once(mailbox):
    meeting_id, rows = queued_notices(8)
    ids = [row.pk for row in rows]
    results: list[int | BaseException] = []

    def worker() -> None:
        from django.db import connection as thread_connection

        try:
            results.append(services.notice_send_chunk(meeting_id=meeting_id, delivery_ids=ids))
        except BaseException as error:  # reported by the assertion below
            results.append(error)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    # Both workers read the rows as queued, build their messages and reach the claim while
    # the rows are locked here: released together, they race on the same rows.
    with transaction.atomic():
        list(NoticeDelivery.objects.select_for_update().filter(pk__in=ids))
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while backends_waiting_for_a_lock() < 2:
            assert time.monotonic() < deadline, "the workers never reached the claim"
            time.sleep(0.05)
    for thread in threads:
        thread.join(timeout=60)
    assert results == [0, 0]
    received = [m["X-Envelope-To"] for m in mailbox.wait_for(8)]
    time.sleep(0.5)  # a duplicate would arrive meanwhile
    assert sorted(received) == sorted(r.member.user.email for r in rows)
    assert len(mailbox.messages) == 8
    assert statuses(rows) == [DeliveryStatus.SENT] * 8
    assert set(NoticeDelivery.objects.values_list("attempts", flat=True)) == {1}


class RefusesOneRecipient(SMTPServer):
    """Refuses one address at RCPT (550) while ``refusing``; takes every other message."""

    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address
        self.refusing = True

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if self.refusing and address == self.address:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_refused_recipient_fails_alone_the_rest_of_the_chunk_is_sent_and_the_retry_sends_it(
    settings,
):
    meeting_id, rows = queued_notices(4)
    ids = [row.pk for row in rows]
    refused = rows[1]
    server = RefusesOneRecipient(refused.member.user.email)
    server.controller.start()
    try:
        use_mail_server(settings, server.controller.hostname, server.controller.port)
        with pytest.raises(Retry):
            tasks.send_notice_chunk.apply(args=(meeting_id, ids), retries=0)
        assert statuses(rows) == [
            DeliveryStatus.SENT,
            DeliveryStatus.FAILED,
            DeliveryStatus.SENT,
            DeliveryStatus.SENT,
        ]
        failed = NoticeDelivery.objects.get(pk=refused.pk)
        assert "550" in failed.last_error and failed.sent_at is None
        assert sorted(m["X-Envelope-To"] for m in server.messages) == sorted(
            r.member.user.email for r in rows if r != refused
        )
        # The task's retry sends the refused one only, once the server takes it.
        server.refusing = False
        assert tasks.send_notice_chunk.apply(args=(meeting_id, ids), retries=1).get() == 4
    finally:
        server.controller.stop()
    assert statuses(rows) == [DeliveryStatus.SENT] * 4
    assert sorted(m["X-Envelope-To"] for m in server.messages) == sorted(
        r.member.user.email for r in rows
    )
    assert NoticeDelivery.objects.get(pk=refused.pk).attempts == 2


def test_a_connection_lost_after_a_hand_over_leaves_that_one_unknown_and_the_rest_is_sent(
    settings,
):
    _meeting_id, rows = queued_notices(4)
    server = HangingSmtpPeer(hang_up=lambda number: number == 2)
    use_mail_server(settings, "127.0.0.1", server.port)
    try:
        outcome = deliver_batch(notices(), [row.pk for row in rows], build=plain)
        # Run again (a task's retry): the unknown one is never handed over again.
        again = deliver_batch(notices(), [row.pk for row in rows], build=plain)
    finally:
        server.close()
    assert outcome.sent == [rows[0].pk, rows[2].pk, rows[3].pk]
    assert outcome.unknown == [rows[1].pk] and outcome.failed == []
    assert (again.sent, again.failed, again.unknown) == ([], [], [])
    assert statuses(rows) == [
        DeliveryStatus.SENT,
        DeliveryStatus.UNKNOWN,
        DeliveryStatus.SENT,
        DeliveryStatus.SENT,
    ]
    assert server.received == [row.member.user.email for row in rows]


class CrashingBackend(BaseEmailBackend):
    """Takes ``after`` messages, then raises: a bug, or the process failing mid-send."""

    after = 0
    taken: list[str] = []

    def send_messages(self, email_messages) -> int:
        if len(CrashingBackend.taken) >= CrashingBackend.after:
            raise RuntimeError("the worker failed in the middle of a send")
        CrashingBackend.taken.extend(m.to[0] for m in email_messages)
        return len(email_messages)


def test_a_send_that_crashes_records_what_is_known_and_nothing_is_sent_twice(settings):
    _meeting_id, rows = queued_notices(7)
    ids = [row.pk for row in rows]
    settings.EMAIL_BACKEND = f"{__name__}.CrashingBackend"
    CrashingBackend.after, CrashingBackend.taken = 3, []
    with pytest.raises(RuntimeError, match="middle of a send"):
        deliver_batch(notices(), ids, build=plain, group=5)
    # Taken before the crash: sent. The one that raised may have been handed over:
    # unknown. The rest of its group was claimed, never handed over: failed, sendable.
    # The next group was never claimed: still queued.
    assert statuses(rows) == [DeliveryStatus.SENT] * 3 + [
        DeliveryStatus.UNKNOWN,
        DeliveryStatus.FAILED,
        DeliveryStatus.QUEUED,
        DeliveryStatus.QUEUED,
    ]
    assert NoticeDelivery.objects.get(pk=rows[4].pk).last_error == NOT_HANDED_OVER
    assert "middle of a send" in NoticeDelivery.objects.get(pk=rows[3].pk).last_error

    # The retry sends what was never handed over, and nothing else.
    CrashingBackend.after = 100
    outcome = deliver_batch(notices(), ids, build=plain, group=5)
    assert outcome.sent == [row.pk for row in rows[4:]]
    assert CrashingBackend.taken == [row.member.user.email for row in rows if row != rows[3]]
    # Staff check that the unknown one did not arrive and requeue it: it goes, once.
    assert delivery_requeue(NoticeDelivery.objects.all(), rows[3].pk)
    deliver_batch(notices(), ids, build=plain, group=5)
    deliver_batch(notices(), ids, build=plain, group=5)
    assert sorted(CrashingBackend.taken) == sorted(row.member.user.email for row in rows)
    assert statuses(rows) == [DeliveryStatus.SENT] * 7


def test_a_group_a_killed_worker_left_sending_is_marked_unknown_and_never_resent():
    """What SIGKILL leaves: the group's rows claimed, some perhaps handed over, none
    recorded. The next attempt cannot tell them apart: all unknown, none resent."""
    _meeting_id, rows = queued_notices(5)
    ids = [row.pk for row in rows]
    NoticeDelivery.objects.filter(pk__in=ids[:3]).update(status=DeliveryStatus.SENDING, attempts=1)
    outcome = deliver_batch(notices(), ids, build=plain)
    assert outcome.unknown == ids[:3] and outcome.sent == ids[3:]
    assert [m.to[0] for m in mail.outbox] == [row.member.user.email for row in rows[3:]]
    assert statuses(rows) == [DeliveryStatus.UNKNOWN] * 3 + [DeliveryStatus.SENT] * 2


@pytest.mark.parametrize(("size", "group", "queries"), [(6, 2, 1 + 3 * 2), (6, 3, 1 + 2 * 2)])
def test_the_protocol_costs_a_read_and_two_queries_per_group_not_per_email(size, group, queries):
    _meeting_id, rows = queued_notices(size)
    with CaptureQueriesContext(connection) as captured:
        outcome = deliver_batch(notices(), [row.pk for row in rows], build=plain, group=group)
    assert len(outcome.sent) == size
    assert len([q for q in captured if "SAVEPOINT" not in q["sql"]]) == queries


def test_when_the_server_cannot_be_reached_every_group_is_recorded_failed_for_the_retry(
    settings, mailbox
):
    _meeting_id, rows = queued_notices(5)
    ids = [row.pk for row in rows]
    use_mail_server(settings, "127.0.0.1", _free_port())  # nothing listens: refused
    outcome = deliver_batch(notices(), ids, build=plain, group=2)
    assert outcome.failed == ids and outcome.sent == outcome.unknown == []
    for delivery in NoticeDelivery.objects.filter(pk__in=ids):
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
        assert "refused" in delivery.last_error.lower()
    # The retry, once the server answers, sends each once.
    use_mail_server(settings, mailbox.controller.hostname, mailbox.controller.port)
    assert deliver_batch(notices(), ids, build=plain, group=2).sent == ids
    assert sorted(m["X-Envelope-To"] for m in mailbox.wait_for(5)) == sorted(
        row.member.user.email for row in rows
    )
