"""Exactly-once email: claim the delivery row, send, then record the outcome.

Every mail the clinic sends (invoices, credit notes, reminders, notices, ballot mail,
consultation notifications) has a delivery row whose model inherits ``EmailDelivery``,
and is sent only through ``deliver_once`` (one row) or ``deliver_batch`` (many, below).
The order of the steps is the guarantee:

1. the message is built first (a rendering error leaves the row queued);
2. the row is claimed by a conditional update, committed on its own, from a sendable
   state (queued or failed) to ``sending``; of two tasks racing, only one claims it;
3. the message is handed to the mail server;
4. the outcome is recorded: ``sent``, or ``failed`` (retried) / ``gave_up`` (final).

A worker that dies, or a database that fails, between 3 and 4 leaves the row in
``sending``. The next attempt does not send: it marks the row ``unknown``, which staff see
as "check before resending" and can requeue deliberately with ``delivery_requeue``.

Only an answer that says the server did not take the message (a refused connection, or an
SMTP refusal code) counts as ``failed`` and is retried. A connection lost or timed out
after the message was handed over may have been accepted: that is ``unknown`` too.

Mass mail (meeting notices, ballot mail) goes through ``deliver_batch``, the same
protocol for many rows at a time, with no query of its own per email:

1. the batch's rows are read in one query; rows found in ``sending`` (an earlier attempt
   that never recorded its outcome) are marked ``unknown`` in one update, never sent;
2. the sendable rows go in groups of ``DELIVERY_GROUP``: a group's messages are built,
   then its rows are claimed by one conditional update, committed on its own, of the rows
   still queued or failed. Two workers running the same batch claim disjoint rows (the
   update locks the rows in primary-key order and re-reads their status), so each row is
   sent by one of them at most;
3. the claimed messages are handed over one by one on one connection. A refusal
   (``REFUSALS``) marks only that row ``failed`` and the group goes on; a connection
   lost or timed out after the hand-over marks that row ``unknown`` and the next message
   goes on a new connection; once a connection cannot be (re)opened, the rest of the
   batch is claimed and recorded ``failed`` without trying (never handed over);
4. the group's outcomes are recorded in bulk (the sent rows in one update, failures one
   update per distinct error), in a ``finally``: whatever a later step raises, the
   outcomes already known are recorded. A message whose send raised anything else may
   have been handed over: it is ``unknown``; the group's rows behind it were not, and are
   ``failed``. Then the exception propagates, and the batch's later groups stay queued.

So a batch never sends a row twice either, and only a process killed (or a database lost)
between 2 and 4 leaves rows in ``sending``: at most one group, every row of it, whether
it was handed over or not. The next attempt marks them all ``unknown`` for staff to
check, including the rows of the group that had not been handed over yet: telling those
apart would cost a committed write per email, which is what the batch saves. That is the
trade-off, and why the group is small: a killed worker costs staff at most
``DELIVERY_GROUP`` members to check, and the protocol two queries per group.
"""

import contextlib
import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from smtplib import (
    SMTPAuthenticationError,
    SMTPDataError,
    SMTPException,
    SMTPHeloError,
    SMTPNotSupportedError,
    SMTPRecipientsRefused,
    SMTPSenderRefused,
)
from typing import TypeVar

from django.core.mail import EmailMessage, get_connection
from django.db import connections, models, router, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clinic.celery import DATABASE_ERRORS


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed, retrying")
    # Its own context: Spanish writes an email's "Failed" (Fallido) unlike a document's.
    GAVE_UP = "gave_up", pgettext_lazy("delivery", "Failed")
    UNKNOWN = "unknown", _("Unknown: check before resending")


SENDABLE = (DeliveryStatus.QUEUED, DeliveryStatus.FAILED)
# An attempt that may have reached the mail server: its outcome can still be recorded.
IN_FLIGHT = (DeliveryStatus.SENDING, DeliveryStatus.UNKNOWN)
REQUEUEABLE = (DeliveryStatus.GAVE_UP, DeliveryStatus.UNKNOWN)


class EmailDelivery(models.Model):
    """The state of one email; concrete models add what the email is about."""

    status = models.CharField(
        _("delivery"), max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=255, blank=True)
    claimed_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        abstract = True


D = TypeVar("D", bound=EmailDelivery)

# Errors a mail task retries on (with backoff).
TRANSIENT_ERRORS = (SMTPException, OSError)
# Answers in which the server says it did not take the message: sending again is safe.
REFUSALS = (
    SMTPAuthenticationError,
    SMTPDataError,
    SMTPHeloError,
    SMTPNotSupportedError,
    SMTPRecipientsRefused,
    SMTPSenderRefused,
)


def deliver_once(
    queryset: models.QuerySet[D],
    pk: int,
    *,
    build: Callable[[D], EmailMessage],
    final_attempt: bool = False,
) -> DeliveryStatus:
    """Send the delivery ``pk`` at most once; returns its status afterwards.

    ``queryset`` fetches the row with what ``build`` needs (``select_related``). Errors in
    ``TRANSIENT_ERRORS`` are recorded and re-raised so the task can retry with backoff.
    Must not run inside an atomic block: the claim has to commit before the send.
    """
    model = queryset.model
    row = queryset.get(pk=pk)
    if row.status == DeliveryStatus.SENDING:
        # A previous attempt claimed it and never recorded what happened.
        model.objects.filter(pk=pk, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.UNKNOWN
        )
        return DeliveryStatus.UNKNOWN
    if row.status not in SENDABLE:
        return DeliveryStatus(row.status)
    message = build(row)
    with transaction.atomic():
        claimed = model.objects.filter(pk=pk, status__in=SENDABLE).update(
            status=DeliveryStatus.SENDING, attempts=F("attempts") + 1, claimed_at=timezone.now()
        )
    if not claimed:
        return DeliveryStatus(model.objects.values_list("status", flat=True).get(pk=pk))
    failed = DeliveryStatus.GAVE_UP if final_attempt else DeliveryStatus.FAILED
    connection = message.connection or get_connection()
    try:
        # Nothing has been handed over until the connection is open.
        opened = connection.open()
    except TRANSIENT_ERRORS as error:
        _record(model, pk, status=failed, error=error)
        raise
    try:
        connection.send_messages([message])
    except REFUSALS as error:
        _record(model, pk, status=failed, error=error)
        raise
    except TRANSIENT_ERRORS as error:
        _record(model, pk, status=DeliveryStatus.UNKNOWN, error=error)
        return DeliveryStatus.UNKNOWN
    finally:
        if opened:
            connection.close()
    model.objects.filter(pk=pk, status__in=IN_FLIGHT).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error=""
    )
    return DeliveryStatus.SENT


def _record(model, pk: int, *, status: DeliveryStatus, error: Exception) -> None:
    model.objects.filter(pk=pk, status__in=IN_FLIGHT).update(
        status=status, last_error=str(error)[:255]
    )


# Rows claimed, sent and recorded together by ``deliver_batch``: what a killed worker can
# leave for staff to check, and what the protocol costs (two queries a group).
DELIVERY_GROUP = 25
# The error recorded on a claimed row left behind by an exception before its turn.
NOT_HANDED_OVER = "not sent: a send before it in its group raised an error"


@dataclass
class BatchOutcome:
    """What ``deliver_batch`` did, by delivery pk."""

    sent: list[int] = field(default_factory=list)
    # Refused, or never handed over: ``failed`` (retried), or ``gave_up`` on a final attempt.
    failed: list[int] = field(default_factory=list)
    # Found in ``sending``, or possibly accepted by the server: staff check before resending.
    unknown: list[int] = field(default_factory=list)


def deliver_batch(
    queryset: models.QuerySet[D],
    pks: Iterable[int],
    *,
    build: Callable[[D], EmailMessage],
    final_attempt: bool = False,
    group: int = DELIVERY_GROUP,
) -> BatchOutcome:
    """Send each delivery of ``pks`` at most once, on one connection (the module docstring).

    ``queryset`` fetches the rows with what ``build`` needs (``select_related``); pks it
    does not return are skipped. Unlike ``deliver_once`` it does not raise on a refused
    or lost send: the outcome says which rows failed, for the task to retry. Must not run
    inside an atomic block: each claim has to commit before its group is sent.
    """
    model = queryset.model
    rows = list(queryset.filter(pk__in=list(pks)).order_by("pk"))
    outcome = BatchOutcome()
    stale = [row.pk for row in rows if row.status == DeliveryStatus.SENDING]
    if stale:
        # Earlier attempts claimed them and never recorded what happened.
        model.objects.filter(pk__in=stale, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.UNKNOWN
        )
        outcome.unknown.extend(stale)
    sendable = [row for row in rows if row.status in SENDABLE]
    failed = DeliveryStatus.GAVE_UP if final_attempt else DeliveryStatus.FAILED
    connection = get_connection()
    is_open = False
    # Why nothing more can be handed over on this batch's connection, once it cannot be
    # (re)opened: the rest of the batch is claimed and recorded failed without trying.
    broken: Exception | None = None
    try:
        for start in range(0, len(sendable), group):
            messages = {row.pk: build(row) for row in sendable[start : start + group]}
            claimed = _claim(model, list(messages))
            # pk -> (status, error); a claimed pk missing here was never handed over.
            results: dict[int, tuple[DeliveryStatus, str]] = {}
            try:
                for pk in sorted(claimed):
                    if broken is None and not is_open:
                        try:
                            # Nothing has been handed over until the connection is open.
                            connection.open()
                            is_open = True
                        except TRANSIENT_ERRORS as error:
                            broken = error
                    if broken is not None:
                        results[pk] = (failed, str(broken))
                        continue
                    try:
                        connection.send_messages([messages[pk]])
                    except REFUSALS as error:
                        results[pk] = (failed, str(error))
                    except TRANSIENT_ERRORS as error:
                        # Perhaps accepted; the connection is gone: the next one opens anew.
                        results[pk] = (DeliveryStatus.UNKNOWN, str(error))
                        with contextlib.suppress(*TRANSIENT_ERRORS):
                            connection.close()
                        is_open = False
                    except BaseException as error:
                        results[pk] = (DeliveryStatus.UNKNOWN, repr(error))
                        raise
                    else:
                        results[pk] = (DeliveryStatus.SENT, "")
            finally:
                for pk in claimed - results.keys():
                    results[pk] = (failed, NOT_HANDED_OVER)
                _record_batch(model, results, outcome)
    finally:
        with contextlib.suppress(*TRANSIENT_ERRORS):
            connection.close()
    return outcome


def _claim(model, pks: list[int]) -> set[int]:
    """Claim the rows of ``pks`` still sendable, in one committed update; returns their pks.

    The rows are locked in pk order (so two claims of overlapping groups cannot deadlock)
    and their status read again once locked: of two workers, each row goes to one.
    """
    if not pks:
        return set()
    db = router.db_for_write(model)
    connection = connections[db]
    quote = connection.ops.quote_name
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    status = quote(model._meta.get_field("status").column)
    attempts = quote(model._meta.get_field("attempts").column)
    claimed_at = quote(model._meta.get_field("claimed_at").column)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    in_pks = ", ".join(["%s"] * len(pks))
    # Only quoted names of our own model are formatted in; every value is a parameter.
    sql = (
        f"UPDATE {table} SET {status} = %s, {attempts} = {attempts} + 1, {claimed_at} = %s "  # noqa: S608  # nosec B608
        f"WHERE {pk} IN (SELECT {pk} FROM {table} WHERE {pk} IN ({in_pks}) "
        f"AND {status} IN (%s, %s) ORDER BY {pk}{lock}) RETURNING {pk}"
    )
    params = [DeliveryStatus.SENDING, timezone.now(), *pks, *SENDABLE]
    with transaction.atomic(using=db), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {pk for (pk,) in cursor.fetchall()}


def _record_batch(
    model, results: dict[int, tuple[DeliveryStatus, str]], outcome: BatchOutcome
) -> None:
    """Record a group's outcomes: the sent rows in one update, the rest one per error."""
    sent = [pk for pk, (status, _error) in results.items() if status == DeliveryStatus.SENT]
    others: dict[tuple[DeliveryStatus, str], list[int]] = {}
    for pk, (status, error) in results.items():
        if status != DeliveryStatus.SENT:
            others.setdefault((status, error[:255]), []).append(pk)
    if sent:
        model.objects.filter(pk__in=sent, status__in=IN_FLIGHT).update(
            status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error=""
        )
        outcome.sent.extend(sent)
    for (status, error), pks in others.items():
        model.objects.filter(pk__in=pks, status__in=IN_FLIGHT).update(
            status=status, last_error=error
        )
        if status == DeliveryStatus.UNKNOWN:
            outcome.unknown.extend(pks)
        else:
            outcome.failed.extend(pks)


def delivery_requeue(queryset: models.QuerySet[D], pk: int) -> bool:
    """Staff checked that a failed or unknown email did not arrive: make it sendable again.

    Returns False (and changes nothing) for an email that is queued, in flight or sent.
    """
    return bool(
        queryset.filter(pk=pk, status__in=REQUEUEABLE).update(
            status=DeliveryStatus.QUEUED, last_error=""
        )
    )


def sent_before(row: EmailDelivery, moment: datetime.datetime) -> bool:
    """Whether the email left the clinic's mail server before ``moment`` (notice periods)."""
    return row.status == DeliveryStatus.SENT and row.sent_at is not None and row.sent_at <= moment


# How every mail task is declared (``@shared_task(**MAIL_TASK_OPTIONS)``): acknowledged
# after it ran, so a killed worker's message is redelivered, and retried with backoff on a
# refused send or a lost database; ``deliver_once`` makes the retry safe.
MAIL_RETRIES = 5
MAIL_TASK_OPTIONS = {
    "bind": True,
    "acks_late": True,
    "autoretry_for": (*TRANSIENT_ERRORS, *DATABASE_ERRORS),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "max_retries": MAIL_RETRIES,
}
