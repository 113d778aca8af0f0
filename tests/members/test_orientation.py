"""Orientation sessions: offered on the home, open to anyone by name and email, capacity
kept under concurrency, a confirmation with a calendar entry, and the office's lists."""

import datetime
import threading
import time

import icalendar
import pytest
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.urls import reverse
from django.utils import timezone

from clinic.delivery import DeliveryStatus
from clinic.roles import Role
from members import services
from members.models import OrientationRegistration, OrientationSession
from tests.factories import user_with_role
from tests.members.factories import MemberFactory, OrientationSessionFactory

pytestmark = pytest.mark.django_db


def _register(client, session, *, name="Amara Osei", email="amara@example.org", **extra):
    return client.post(
        reverse("orientation_register", args=[session.pk]), {"name": name, "email": email}, **extra
    )


def test_home_lists_the_next_sessions_with_places_left_and_a_register_link(client):
    soon = OrientationSessionFactory(place="Community room", capacity=3)
    full = OrientationSessionFactory(
        starts_at=soon.starts_at + datetime.timedelta(days=7),
        ends_at=soon.ends_at + datetime.timedelta(days=7),
        place="Library annex",
        capacity=1,
    )
    services.orientation_register(session_id=full.pk, name="A", email="a@example.org")
    OrientationSessionFactory(
        starts_at=timezone.now() - datetime.timedelta(days=2),
        ends_at=timezone.now() - datetime.timedelta(days=2, hours=-2),
        place="Past hall",
    )
    page = client.get(reverse("landing")).content.decode()
    assert "Community room" in page and "3 places left" in page
    assert reverse("orientation_register", args=[soon.pk]) in page
    assert "Library annex" in page and "Full" in page
    assert reverse("orientation_register", args=[full.pk]) not in page
    assert "Past hall" not in page


def test_anyone_registers_by_name_and_email_and_gets_one_confirmation_with_a_calendar_entry(
    client, mailbox, settings, django_capture_on_commit_callbacks
):
    settings.CLINIC_SITE_URL = "https://clinic.example.org"
    session = OrientationSessionFactory(place="Community room, 1 Commons Lane")
    with django_capture_on_commit_callbacks(execute=True):
        response = _register(client, session)
        assert response.status_code == 302
        assert response["Location"] == reverse("orientation_registered")
        # The same address again: the same place, no second email.
        assert _register(client, session, email="AMARA@example.org").status_code == 302

    registration = OrientationRegistration.objects.get()
    assert (registration.name, registration.email) == ("Amara Osei", "amara@example.org")
    assert registration.status == DeliveryStatus.SENT
    (message,) = mailbox.wait_for(1)
    assert message["To"] == "amara@example.org"
    assert "orientation session" in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    assert "Dear Amara Osei" in body and "Community room, 1 Commons Lane" in body
    (attachment,) = [part for part in message.iter_attachments()]
    assert attachment.get_filename() == "orientation.ics"
    event = icalendar.Calendar.from_ical(attachment.get_payload(decode=True)).walk("VEVENT")[0]
    assert event.decoded("dtstart") == session.starts_at
    assert event.decoded("dtend") == session.ends_at
    assert str(event["location"]) == "Community room, 1 Commons Lane"
    assert str(event["uid"]) == f"orientation-{session.pk}@clinic.example.org"
    # Sending again (a retried task) sends nothing more.
    services.orientation_confirmation_send(registration_id=registration.pk)
    time.sleep(0.3)
    assert len(mailbox.messages) == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [({"name": "", "email": "x@example.org"}, "name"), ({"name": "X", "email": "nope"}, "email")],
)
def test_bad_registrations_show_field_errors_and_register_nobody(client, data, field):
    session = OrientationSessionFactory()
    response = client.post(reverse("orientation_register", args=[session.pk]), data)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert not OrientationRegistration.objects.exists()


def test_a_full_session_refuses_more_people(client):
    session = OrientationSessionFactory(capacity=1)
    assert _register(client, session, email="first@example.org").status_code == 302
    response = _register(client, session, email="second@example.org")
    assert response.status_code == 409
    assert "This session is full" in response.content.decode()
    assert OrientationRegistration.objects.count() == 1


def test_past_sessions_cannot_be_registered_for(client):
    session = OrientationSessionFactory()
    OrientationSession.objects.filter(pk=session.pk).update(
        starts_at=timezone.now() - datetime.timedelta(hours=1)
    )
    assert _register(client, session).status_code == 404
    assert not OrientationRegistration.objects.exists()


def test_registrations_are_throttled_per_address_and_per_client(client, settings, mailbox):
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "orientation": "3/h/ip",
        "orientation_address": "2/h/key",
    }
    sessions = [OrientationSessionFactory() for _ in range(3)]
    # One address, from several clients: two sessions, then refused.
    statuses = [
        _register(client, s, email="target@example.org", REMOTE_ADDR=f"192.0.2.{n}").status_code
        for n, s in enumerate(sessions, start=1)
    ]
    assert statuses == [302, 302, 429]
    # One client, several addresses: three attempts, then refused.
    statuses = [
        _register(
            client, sessions[0], email=f"p{n}@example.org", REMOTE_ADDR="198.51.100.7"
        ).status_code
        for n in range(4)
    ]
    assert statuses == [302, 302, 302, 429]
    assert OrientationRegistration.objects.filter(email="target@example.org").count() == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_people_taking_the_last_place_at_once_do_not_both_get_it(celery_worker, mailbox):
    """The second registration waits for the first's lock on the session, then sees it full
    (without the lock it would count the places before the first commits, and overbook)."""
    session = OrientationSessionFactory(capacity=1)
    first_registered = threading.Event()
    outcomes: dict[str, object] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                services.orientation_register(
                    session_id=session.pk, name="First", email="first@example.org"
                )
                first_registered.set()
                time.sleep(1.5)  # the second is waiting on the session's row meanwhile
            outcomes["first"] = "registered"
        finally:
            connections.close_all()

    def second() -> None:
        try:
            first_registered.wait(10)
            services.orientation_register(
                session_id=session.pk, name="Second", email="second@example.org"
            )
            outcomes["second"] = "registered"
        except ValidationError as error:
            outcomes["second"] = error.messages[0]
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes == {
        "first": "registered",
        "second": "This session is full. Please choose another one.",
    }
    assert list(OrientationRegistration.objects.values_list("email", flat=True)) == [
        "first@example.org"
    ]
    messages = mailbox.wait_for(1)
    assert [m["To"] for m in messages] == ["first@example.org"]


def test_administrators_add_sessions_and_see_who_registered(client):
    admin = user_with_role(Role.ADMINISTRATOR)
    client.force_login(admin)
    starts = (timezone.localtime() + datetime.timedelta(days=5)).replace(
        hour=18, minute=0, second=0, microsecond=0
    )
    response = client.post(
        reverse("members:orientation_sessions"),
        {
            "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (starts + datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            "place": "Community room",
            "capacity": "15",
        },
    )
    session = OrientationSession.objects.get()
    assert response["Location"] == reverse("members:orientation_session_detail", args=[session.pk])
    assert (session.starts_at, session.capacity, session.created_by) == (starts, 15, admin)
    services.orientation_register(session_id=session.pk, name="Ines Duarte", email="i@example.org")
    page = client.get(response["Location"]).content.decode()
    assert "Ines Duarte" in page and "i@example.org" in page
    assert "1 person of 15 places" in page
    assert "not a member yet" in page
    # A member who registered is linked to their record, where attendance is recorded.
    member = MemberFactory(user__email="Rosa@example.org")
    services.orientation_register(session_id=session.pk, name="Rosa", email="rosa@example.org")
    page = client.get(response["Location"]).content.decode()
    assert reverse("members:member_detail", args=[member.pk]) in page
    assert "record attendance" in page
    services.member_record_orientation(member=member, attended_on=timezone.localdate())
    page = client.get(response["Location"]).content.decode()
    assert "orientation recorded" in page
    listing = client.get(reverse("members:orientation_sessions")).content.decode()
    assert "Community room" in listing


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ends_at": "2020-01-01T10:00"}, "ends_at"),
        ({"capacity": "0"}, "capacity"),
        ({"place": ""}, "place"),
    ],
)
def test_bad_sessions_are_refused_with_field_errors(client, change, field):
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    starts = timezone.localtime() + datetime.timedelta(days=5)
    data = {
        "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (starts + datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "place": "Room",
        "capacity": "10",
        **change,
    }
    response = client.post(reverse("members:orientation_sessions"), data)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert not OrientationSession.objects.exists()


def test_only_administrators_see_the_sessions_and_registrations(client):
    session = OrientationSessionFactory()
    for user in (MemberFactory().user, user_with_role(Role.ANCHOR_CONTACT)):
        client.force_login(user)
        assert client.get(reverse("members:orientation_sessions")).status_code == 403
        detail = reverse("members:orientation_session_detail", args=[session.pk])
        assert client.get(detail).status_code == 403
