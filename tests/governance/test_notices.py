import datetime

import icalendar
import pytest
from celery.exceptions import Retry
from celery.signals import task_prerun
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.delivery import delivery_requeue
from clinic.roles import Role
from governance import selectors, services, tasks
from governance.models import DeliveryChannel, DeliveryStatus, MeetingKind, NoticeDelivery
from members.models import MemberStatus
from members.models import NoticeDelivery as NoticePreference
from members.selectors import is_in_good_standing
from tests.billing.helpers import member_invoice
from tests.conftest import _free_port
from tests.factories import user_with_role
from tests.governance.factories import MeetingFactory, motion
from tests.members.factories import MemberFactory
from tests.pdf import pdf_text

pytestmark = pytest.mark.django_db


def attachments(message) -> dict[str, bytes]:
    if hasattr(message, "attachments"):  # django.core.mail outbox
        return {
            **{
                a.get_filename(): a.get_payload(decode=True)
                for a in message.attachments
                if hasattr(a, "get_filename")
            },
            **{a[0]: a[1] for a in message.attachments if isinstance(a, tuple)},
        }
    return {part.get_filename(): part.get_content() for part in message.iter_attachments()}


def calendar_part(message):
    """The iCalendar part of a sent message, as the recipient's mail program sees it."""
    parsed = message.message() if hasattr(message, "message") else message
    return next(p for p in parsed.walk() if p.get_content_type() == "text/calendar")


def as_bytes(content) -> bytes:
    return content.encode() if isinstance(content, str) else content


@pytest.fixture
def meeting():
    meeting = MeetingFactory(
        title="Annual general meeting 2026", online_link="https://meet.example.org/agm"
    )
    services.agenda_item_add(meeting=meeting, title="Approve the annual accounts")
    services.agenda_item_add(meeting=meeting, title="Elect the board")
    return meeting


def send(meeting, capture) -> int:
    with capture(execute=True):
        return services.meeting_send_notice(meeting=meeting)


def test_notice_mails_every_current_member_once_with_links_ics_and_pdf(
    meeting, settings, django_capture_on_commit_callbacks
):
    settings.CLINIC_SITE_URL = "https://clinic.example.org"
    members = MemberFactory.create_batch(2)
    # In arrears, so without a vote, but still a member: noticed all the same.
    in_arrears = member_invoice().member
    assert not is_in_good_standing(in_arrears)
    members.append(in_arrears)
    # Suspended or lapsed members are still members; those who left are not.
    members.append(MemberFactory(status=MemberStatus.SUSPENDED))
    members.append(MemberFactory(status=MemberStatus.LAPSED))
    MemberFactory(status=MemberStatus.WITHDRAWN)
    postal = MemberFactory(
        notice_delivery=NoticePreference.POST, address="4 Orchard Row\nRiverside 1234"
    )
    ballot = motion(meeting=meeting, title="Approve the accounts")
    assert send(meeting, django_capture_on_commit_callbacks) == 6
    assert sorted(m.to[0] for m in mail.outbox) == sorted(m.user.email for m in members)
    message = mail.outbox[0]
    assert "Approve the annual accounts" in message.body
    # Absolute links to the meeting page and to the online ballot.
    assert f"https://clinic.example.org/governance/meetings/{meeting.pk}/" in message.body
    assert f"https://clinic.example.org/governance/ballots/{ballot.pk}/" in message.body
    part = calendar_part(message)
    assert part.get_param("method") == "PUBLISH"
    files = attachments(message)
    calendar = icalendar.Calendar.from_ical(as_bytes(files["meeting.ics"]))
    assert str(calendar["method"]) == "PUBLISH"
    event = next(iter(calendar.walk("VEVENT")))
    assert str(event["uid"]) == f"meeting-{meeting.pk}@clinic.example.org"
    assert str(event["organizer"]).startswith("mailto:")
    assert event["organizer"].params["CN"] == settings.CLINIC_NAME
    assert event.decoded("dtstart") == meeting.starts_at
    assert event.decoded("dtend") == meeting.ends_at
    assert event["dtstart"].params["TZID"] == "Europe/Amsterdam"
    assert str(event["summary"]) == meeting.title
    assert "Elect the board" in str(event["description"])
    text = pdf_text(files["notice.pdf"])
    assert "Annual general meeting 2026" in text and "Elect the board" in text
    # Postal members are not mailed: they are in the printable batch, with their address.
    batch = meeting.postal_batches.get()
    postal_text = pdf_text(batch.pdf.read())
    assert postal.full_name in postal_text and "4 Orchard Row" in postal_text
    assert batch.letters == 1 and list(batch.deliveries.values_list("member", flat=True)) == [
        postal.pk
    ]
    progress = selectors.notice_progress(meeting)
    assert (progress.email_sent, progress.email_failed, progress.remaining) == (5, 0, 0)
    assert (progress.post_total, progress.post_done) == (1, 1)

    # Sending again never notices anyone twice; a member who joined since is noticed.
    mail.outbox.clear()
    newcomer = MemberFactory()
    assert send(meeting, django_capture_on_commit_callbacks) == 1
    assert [m.to[0] for m in mail.outbox] == [newcomer.user.email]
    assert NoticeDelivery.objects.filter(meeting=meeting).count() == 7


def test_a_setting_limits_notices_to_members_in_good_standing(
    meeting, settings, django_capture_on_commit_callbacks
):
    settings.CLINIC_NOTICE_RECIPIENTS = "good_standing"
    member = MemberFactory()
    member_invoice()
    assert send(meeting, django_capture_on_commit_callbacks) == 1
    assert [m.to[0] for m in mail.outbox] == [member.user.email]


def test_email_is_written_in_the_members_language(meeting, django_capture_on_commit_callbacks):
    MemberFactory(preferred_language="es")
    send(meeting, django_capture_on_commit_callbacks)
    assert mail.outbox[0].extra_headers["Content-Language"] == "es"


def test_notices_are_sent_one_task_per_chunk(meeting, settings, django_capture_on_commit_callbacks):
    settings.CLINIC_NOTICE_CHUNK_SIZE = 2
    MemberFactory.create_batch(5)
    chunks = []

    def count(sender=None, task=None, args=None, **kwargs):
        if task.name == tasks.send_notice_chunk.name:
            chunks.append(list(args[1]))

    task_prerun.connect(count)
    try:
        send(meeting, django_capture_on_commit_callbacks)
    finally:
        task_prerun.disconnect(count)
    assert [len(c) for c in chunks] == [2, 2, 1]
    assert len(mail.outbox) == 5


def test_failed_notices_are_retried_with_backoff_then_sent_once_the_server_answers(
    meeting, settings, mailbox, django_capture_on_commit_callbacks
):
    member, other = MemberFactory.create_batch(2)
    services.meeting_send_notice(meeting=meeting)  # on-commit work not run: nothing sent yet
    ids = list(NoticeDelivery.objects.filter(meeting=meeting).values_list("pk", flat=True))
    good_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = _free_port()  # nothing listens there: connection refused
    task = tasks.send_notice_chunk
    assert (task.retry_backoff, task.max_retries) == (True, 5)
    # Celery runs attempt n with request.retries == n; each attempt asks to be retried
    # with a backoff delay, until the fifth retry is the final attempt and gives up.
    for attempt in range(5):
        with pytest.raises(Retry) as retry:
            task.apply(args=(meeting.pk, ids), retries=attempt)
        assert retry.value.when is not None
        assert NoticeDelivery.objects.get(member=member).status == DeliveryStatus.FAILED
    task.apply(args=(meeting.pk, ids), retries=5)
    delivery = NoticeDelivery.objects.get(meeting=meeting, member=member)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.GAVE_UP, 6)
    assert delivery.last_error
    assert selectors.notice_progress(meeting).email_failed == 2
    # Given up is final until staff requeue; then it gets through, and the send that
    # follows mails only the other one.
    settings.EMAIL_PORT = good_port
    task.apply(args=(meeting.pk, [delivery.pk]))
    assert mailbox.messages == []
    for pk in ids:
        assert delivery_requeue(NoticeDelivery.objects.all(), pk)
    task.apply(args=(meeting.pk, [delivery.pk]))
    assert [m["To"] for m in mailbox.wait_for(1)] == [member.user.email]
    send(meeting, django_capture_on_commit_callbacks)
    messages = mailbox.wait_for(2)
    assert sorted(m["To"] for m in messages) == sorted([member.user.email, other.user.email])
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 7)
    send(meeting, django_capture_on_commit_callbacks)
    assert len(mailbox.messages) == 2


def test_a_delivery_row_per_member_is_enforced_by_the_database(meeting):
    from django.db import IntegrityError

    member = MemberFactory()
    NoticeDelivery.objects.create(meeting=meeting, member=member, channel=DeliveryChannel.EMAIL)
    with pytest.raises(IntegrityError):
        NoticeDelivery.objects.create(meeting=meeting, member=member, channel=DeliveryChannel.EMAIL)


def test_notice_is_refused_for_board_meetings_and_when_too_late(meeting, settings):
    board = MeetingFactory(kind=MeetingKind.BOARD)
    with pytest.raises(ValidationError, match="Only general meetings"):
        services.meeting_send_notice(meeting=board)
    meeting.starts_at = timezone.now() + datetime.timedelta(
        days=settings.CLINIC_NOTICE_PERIOD_DAYS - 1
    )
    meeting.save()
    with pytest.raises(ValidationError, match="at least 14 days"):
        services.meeting_send_notice(meeting=meeting)
    assert not NoticeDelivery.objects.exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_notices_go_through_a_real_worker_to_a_real_smtp_server(client, celery_worker, mailbox):
    from clinic.roles import Role
    from tests.factories import user_with_role

    meeting = MeetingFactory(title="AGM through the worker")
    services.agenda_item_add(meeting=meeting, title="Annual report")
    members = MemberFactory.create_batch(3)
    postal = MemberFactory(notice_delivery=NoticePreference.POST, address="9 Mill Street")
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    response = client.post(f"/governance/manage/meetings/{meeting.pk}/notice/")
    assert response.status_code == 302
    messages = mailbox.wait_for(3)
    assert sorted(m["To"] for m in messages) == sorted(m.user.email for m in members)
    files = attachments(messages[0])
    event = next(iter(icalendar.Calendar.from_ical(as_bytes(files["meeting.ics"])).walk("VEVENT")))
    assert event.decoded("dtstart") == meeting.starts_at
    assert event.decoded("dtend") == meeting.ends_at
    assert str(event["summary"]) == "AGM through the worker"
    assert "Annual report" in pdf_text(files["notice.pdf"])
    deadline = timezone.now() + datetime.timedelta(seconds=60)
    while selectors.notice_progress(meeting).remaining and timezone.now() < deadline:
        import time

        time.sleep(0.2)
    progress = selectors.notice_progress(meeting)
    assert (progress.email_sent, progress.post_done, progress.remaining) == (3, 1, 0)
    postal_text = pdf_text(meeting.postal_batches.get().pdf.read())
    assert "9 Mill Street" in postal_text and postal.full_name in postal_text
    page = client.get(f"/governance/manage/meetings/{meeting.pk}/notice/progress/")
    assert 'http-equiv="refresh"' not in page.content.decode()
    # Sending again through the worker mails nobody twice.
    assert services.meeting_send_notice(meeting=meeting) == 0
    tasks.dispatch_meeting_notice.delay(meeting.pk).get(timeout=30)
    assert len(mailbox.messages) == 3


def test_each_postal_batch_is_kept_printable_and_holds_only_new_letters(
    meeting, client, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    from clinic.roles import Role
    from tests.factories import user_with_role

    first = MemberFactory(notice_delivery=NoticePreference.POST, address="1 First Street")
    unaddressed = MemberFactory(notice_delivery=NoticePreference.POST, address="")
    send(meeting, django_capture_on_commit_callbacks)
    newcomer = MemberFactory(notice_delivery=NoticePreference.POST, address="2 Second Street")
    send(meeting, django_capture_on_commit_callbacks)
    # Nothing new to print: no empty batch.
    send(meeting, django_capture_on_commit_callbacks)
    older, newer = meeting.postal_batches.order_by("pk")
    assert (older.letters, newer.letters) == (2, 1)
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    page = client.get(reverse("governance:notice_progress", args=[meeting.pk])).content.decode()
    assert "1 member who asked for notices by post has no address" in page
    texts = {}
    for batch in (older, newer):
        address = reverse("governance:postal_notices_pdf", args=[meeting.pk, batch.pk])
        assert address in page
        response = client.get(address)
        assert response["Content-Type"] == "application/pdf"
        texts[batch.pk] = pdf_text(b"".join(response.streaming_content))
    assert first.full_name in texts[older.pk] and unaddressed.full_name in texts[older.pk]
    assert newcomer.full_name not in texts[older.pk]
    assert "2 Second Street" in texts[newer.pk] and first.full_name not in texts[newer.pk]
    # A batch asked for under another meeting's id is not found.
    other = MeetingFactory()
    wrong = reverse("governance:postal_notices_pdf", args=[other.pk, older.pk])
    assert client.get(wrong).status_code == 404


def test_progress_counts_refresh_themselves_only_while_notices_remain(
    meeting, client, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    from clinic.roles import Role
    from tests.factories import user_with_role

    MemberFactory.create_batch(2)
    services.meeting_send_notice(meeting=meeting)  # on-commit work not run: all queued
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    address = reverse("governance:notice_progress", args=[meeting.pk])
    page = client.get(address).content.decode()
    assert 'hx-trigger="every 3s"' in page and "<h1>" in page
    fragment = client.get(address, headers={"HX-Request": "true"}).content.decode()
    assert 'id="remaining">2<' in fragment and "<h1>" not in fragment
    assert 'hx-trigger="every 3s"' in fragment
    tasks.dispatch_meeting_notice.delay(meeting.pk)
    fragment = client.get(address, headers={"HX-Request": "true"}).content.decode()
    assert 'id="sent">2<' in fragment and 'id="remaining">0<' in fragment
    assert "hx-trigger" not in fragment


def test_a_notice_whose_send_outcome_was_lost_is_never_sent_again_unless_staff_resend_it(
    meeting, mailbox, client, django_capture_on_commit_callbacks
):
    """A worker that sent the mail and then lost the database leaves the row "sending"."""
    member = MemberFactory()
    services.meeting_send_notice(meeting=meeting)  # recorded, not yet sent
    delivery = NoticeDelivery.objects.get(member=member)
    # What the crash leaves behind: claimed and (perhaps) sent, outcome never recorded.
    NoticeDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENDING, attempts=1, claimed_at=timezone.now()
    )
    tasks.send_notice_chunk.apply(args=(meeting.pk, [delivery.pk]))
    send(meeting, django_capture_on_commit_callbacks)
    assert mailbox.messages == []
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.UNKNOWN
    assert list(selectors.failed_deliveries(meeting)) == [delivery]
    # Staff check with the member that it did not arrive, then send it again, once.
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    page = client.get(reverse("governance:notice_progress", args=[meeting.pk])).content.decode()
    assert f"send to {member.full_name} again" in page
    resend = reverse("governance:notice_requeue", args=[meeting.pk, delivery.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(resend)
    assert [m["To"] for m in mailbox.wait_for(1)] == [member.user.email]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(resend)  # sent now: nothing to requeue
    assert len(mailbox.messages) == 1


def test_the_notice_period_counts_from_when_each_notice_left(meeting, settings, client):
    on_time, late, failed, waiting = MemberFactory.create_batch(4)
    services.meeting_send_notice(meeting=meeting)
    deadline = selectors.notice_deadline(meeting)
    assert deadline == meeting.starts_at - datetime.timedelta(
        days=settings.CLINIC_NOTICE_PERIOD_DAYS
    )
    rows = NoticeDelivery.objects.filter(meeting=meeting)
    rows.filter(member=on_time).update(
        status=DeliveryStatus.SENT, sent_at=deadline - datetime.timedelta(days=1)
    )
    rows.filter(member=late).update(
        status=DeliveryStatus.SENT, sent_at=deadline + datetime.timedelta(minutes=1)
    )
    rows.filter(member=failed).update(status=DeliveryStatus.GAVE_UP)
    reported = {d.member_id for d in selectors.notices_not_in_time(meeting)}
    assert reported == {late.pk, failed.pk, waiting.pk}
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    page = client.get(reverse("governance:notice_progress", args=[meeting.pk])).content.decode()
    assert 'data-not-in-time="3"' in page
    assert late.full_name in page and on_time.full_name not in page


def test_a_notice_chunk_costs_the_same_queries_with_two_emails_as_with_four(meeting):
    """Documents are rendered once per meeting and language, the chunk's rows read in one
    query, and deliver_batch claims and records them a group at a time: no email costs a
    query of its own, whatever the meeting holds."""
    MemberFactory.create_batch(6)
    services.meeting_send_notice(meeting=meeting)
    ids = list(
        NoticeDelivery.objects.filter(meeting=meeting).order_by("pk").values_list("pk", flat=True)
    )

    def queries(chunk: list[int]) -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            services.notice_send_chunk(meeting_id=meeting.pk, delivery_ids=chunk)
        sql = [q["sql"] for q in captured if "SAVEPOINT" not in q["sql"]]
        protocol = [q for q in sql if '"governance_noticedelivery"' in q]
        return len(protocol), len(sql) - len(protocol)

    two, four = queries(ids[:2]), queries(ids[2:6])
    # The read, the group's claim and the record of its outcomes.
    assert two == four and two[0] == 3
    assert len(mail.outbox) == 6


def _calendar_of(message) -> bytes:
    return calendar_part(message).get_payload(decode=True)


def _agenda_in_calendar(message) -> str:
    event = icalendar.Calendar.from_ical(_calendar_of(message)).walk("VEVENT")[0]
    return str(event["description"])


def test_notice_documents_are_rendered_once_per_meeting_and_language_not_per_chunk(meeting):
    import time

    MemberFactory.create_batch(2, preferred_language="en")
    services.meeting_send_notice(meeting=meeting)
    ids = list(
        NoticeDelivery.objects.filter(meeting=meeting).order_by("pk").values_list("pk", flat=True)
    )
    services.notice_send_chunk(meeting_id=meeting.pk, delivery_ids=ids[:1])
    # The .ics carries the moment it was rendered (DTSTAMP, to the second): a second
    # rendering for the next chunk would carry a later one.
    time.sleep(1.1)
    services.notice_send_chunk(meeting_id=meeting.pk, delivery_ids=ids[1:2])
    first, second = mail.outbox
    assert _calendar_of(first) == _calendar_of(second)
    assert attachments(first)["notice.pdf"] == attachments(second)["notice.pdf"]


def test_a_meeting_changed_between_chunks_is_rendered_anew(meeting):
    MemberFactory.create_batch(2, preferred_language="en")
    services.meeting_send_notice(meeting=meeting)
    ids = list(
        NoticeDelivery.objects.filter(meeting=meeting).order_by("pk").values_list("pk", flat=True)
    )
    services.notice_send_chunk(meeting_id=meeting.pk, delivery_ids=ids[:1])
    services.agenda_item_add(meeting=meeting, title="Amend the rules on shares")
    services.notice_send_chunk(meeting_id=meeting.pk, delivery_ids=ids[1:2])
    first, second = mail.outbox
    assert "Amend the rules on shares" not in _agenda_in_calendar(first)
    assert "Amend the rules on shares" in _agenda_in_calendar(second)
    assert "Amend the rules on shares" in pdf_text(attachments(second)["notice.pdf"])


@pytest.mark.parametrize("language", ["en", "es", "pt-br"])
def test_each_notice_and_ballot_email_is_the_one_rendered_for_that_member_alone(
    meeting, language, settings, django_capture_on_commit_callbacks
):
    """The chunks render each email once per language and put each member's name in it:
    every copy is what the templates give for that member, a name with markup included."""
    from django.template.loader import render_to_string
    from django.utils import translation

    from clinic.email import letterhead_context
    from governance import conf

    member = MemberFactory(
        preferred_language=language,
        user__first_name='Ana "Nené" <b>',
        user__last_name="O'Brien & Co",
    )
    ballot = motion(meeting=meeting, title="Approve the accounts")
    send(meeting, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.ballot_open(ballot=ballot)
    notice, opened = mail.outbox
    ballot_context = {
        "ballot": ballot,
        "ballot_url": conf.absolute(reverse("governance:ballot_detail", args=[ballot.pk])),
        "CLINIC_NAME": settings.CLINIC_NAME,
    }
    for message, name, context in [
        (notice, "notice", services._meeting_context(meeting)),
        (opened, "ballot_opened", ballot_context),
    ]:
        with translation.override(language):
            context = {**letterhead_context(), **context, "member": member}
            subject = render_to_string(f"governance/email/{name}_subject.txt", context).strip()
            text = render_to_string(f"governance/email/{name}_body.txt", context)
            html = render_to_string(f"governance/email/{name}_body.html", context)
        assert message.subject == subject
        assert message.body == text
        assert message.alternatives[0].content == html
        assert message.extra_headers["Content-Language"] == language
        assert "Ana &quot;Nené&quot; &lt;b&gt; O&#x27;Brien &amp; Co" in html
        assert """Ana "Nené" <b> O'Brien & Co""" in text
