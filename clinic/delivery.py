"""Exactly-once email: claim the delivery row, send, then record the outcome.

Every mail the clinic sends (invoices, credit notes, reminders, notices, ballot mail,
consultation notifications) has a delivery row whose model inherits ``EmailDelivery``,
and is sent only through ``deliver_once``. The order of the steps is the guarantee:

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
"""

import datetime
from collections.abc import Callable
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
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.celery import DATABASE_ERRORS


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed, retrying")
    GAVE_UP = "gave_up", _("Failed")
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
