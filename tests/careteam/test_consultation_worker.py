import time

import pytest

from careteam.models import Notification
from careteam.services import consultation_request
from tests.arcs.factories import CareSetting, discipline
from tests.careteam.factories import PractitionerFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_consultation_email_is_delivered_by_a_real_celery_worker(celery_worker, mailbox):
    care = CareSetting()
    doctor = PractitionerFactory(discipline=discipline("primary-care-medicine"))
    consultation_request(
        arc=care.arc,
        requested_by=care.clinician,
        to_discipline=doctor.discipline,
        to_practitioner=doctor,
        question="Could the medicines explain it?",
    )
    messages = mailbox.wait_for(1)
    assert len(messages) == 1
    assert messages[0]["X-Envelope-To"] == doctor.user.email
    assert "consultation" in messages[0]["Subject"].lower()
    # The worker commits the "emailed" mark just after the SMTP server got the message.
    deadline = time.monotonic() + 30
    while Notification.objects.exclude(status="sent").exists():
        assert time.monotonic() < deadline, "the worker never marked the notification emailed"
        time.sleep(0.1)
