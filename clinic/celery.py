import os

from celery import Celery, Task
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from kombu.exceptions import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

# The database went away (restarting, failing over, a dropped connection): the task's
# transaction rolled back, so running it again later is safe, and dropping it is not.
DATABASE_ERRORS = (DatabaseOperationalError, DatabaseInterfaceError)


class OutboxTask(Task):
    """Queues through the broker, or, when the broker cannot be reached, into the outbox.

    A person who starts an invoice run, a notice or a PDF while Redis is down is not shown
    an error and the work is not lost: ``clinic.outbox`` keeps it in the database until the
    periodic sweep can queue it.

    Every task retries, with backoff, when the database cannot be reached (for about eight
    minutes in all, time for PostgreSQL to restart). A task that sets its own
    ``autoretry_for`` lists ``DATABASE_ERRORS`` there too.
    """

    autoretry_for = DATABASE_ERRORS
    retry_backoff = True
    retry_backoff_max = 300
    max_retries = 8

    def apply_async(self, args=None, kwargs=None, **options):
        if self.app.conf.task_always_eager:
            return super().apply_async(args, kwargs, **options)
        try:
            return super().apply_async(args, kwargs, **options)
        except OperationalError as error:
            from clinic.outbox import outbox_record

            outbox_record(task_name=self.name, args=args, kwargs=kwargs, error=error)
            return None

    def apply_async_now(self, args=None, kwargs=None, **options):
        """Through the broker only: raises if it is down (used by the outbox sweep)."""
        return super().apply_async(args, kwargs, **options)


app = Celery("clinic", task_cls=OutboxTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
