import os

from celery import Celery, Task
from kombu.exceptions import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")


class OutboxTask(Task):
    """Queues through the broker, or, when the broker cannot be reached, into the outbox.

    A person who starts an invoice run, a notice or a PDF while Redis is down is not shown
    an error and the work is not lost: ``clinic.outbox`` keeps it in the database until the
    periodic sweep can queue it.
    """

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
