"""Tasks that wait in the database while the broker is down (see ``OutboxTask``)."""

import logging

from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from clinic.models import TaskOutbox

logger = logging.getLogger(__name__)


def outbox_record(*, task_name: str, args, kwargs, error: Exception) -> TaskOutbox:
    logger.warning("Broker unreachable; %s kept in the outbox: %s", task_name, error)
    return TaskOutbox.objects.create(
        task_name=task_name,
        args=list(args or ()),
        kwargs=dict(kwargs or {}),
        last_error=str(error)[:255],
    )


def outbox_dispatch(*, limit: int = 500) -> int:
    """Queue waiting tasks, oldest first; stops at the first broker error. Returns how many."""
    from clinic.celery import app

    sent = 0
    while sent < limit:
        with transaction.atomic():
            row = (
                TaskOutbox.objects.select_for_update(skip_locked=True)
                .filter(dispatched_at__isnull=True)
                .order_by("created_at", "pk")
                .first()
            )
            if row is None:
                return sent
            try:
                app.tasks[row.task_name].apply_async_now(row.args, row.kwargs)
            except OperationalError as error:
                row.attempts += 1
                row.last_error = str(error)[:255]
                row.save(update_fields=["attempts", "last_error"])
                return sent
            row.dispatched_at = timezone.now()
            row.attempts += 1
            row.save(update_fields=["dispatched_at", "attempts"])
            sent += 1
    return sent
