"""Members' own mail is sent at most once, through clinic.delivery, against a real SMTP
server: the welcome, the rejection and the "already registered" answer."""

import pytest
from django.db import DatabaseError, connection

from clinic.delivery import DeliveryStatus, delivery_requeue
from clinic.roles import Role
from members import services
from members.models import MemberEmail, MemberEmailKind
from members.tasks import send_member_email
from tests.factories import user_with_role
from tests.members.factories import ApplicantFactory, MemberFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# A real database failure when the outcome is recorded: the update to "sent" is refused.
FAIL_RECORDING = """
CREATE FUNCTION test_refuse_member_sent() RETURNS trigger AS $$
BEGIN
    IF NEW.status = 'sent' THEN RAISE EXCEPTION 'the database went away'; END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER test_refuse_member_sent BEFORE UPDATE ON members_memberemail
    FOR EACH ROW EXECUTE FUNCTION test_refuse_member_sent();
"""
RECORDING_WORKS = """
DROP TRIGGER IF EXISTS test_refuse_member_sent ON members_memberemail;
DROP FUNCTION IF EXISTS test_refuse_member_sent();
"""


def test_a_welcome_whose_sending_was_not_recorded_is_not_sent_a_second_time(mailbox):
    admin = user_with_role(Role.ADMINISTRATOR)
    applicant = ApplicantFactory()
    with connection.cursor() as cursor:
        cursor.execute(FAIL_RECORDING)
    try:
        # The approval commits; its welcome is sent after commit, and recording "sent" fails.
        with pytest.raises(DatabaseError):
            services.member_approve(member=applicant, by=admin, base_url="https://clinic.test/")
    finally:
        with connection.cursor() as cursor:
            cursor.execute(RECORDING_WORKS)
    assert len(mailbox.wait_for(1, timeout=5)) == 1
    assert mailbox.messages[0]["To"] == applicant.user.email
    email = MemberEmail.objects.get(member=applicant)
    assert email.kind == MemberEmailKind.WELCOME
    # The task runs again (a retry, a duplicate delivery after the worker died): no copy.
    send_member_email.apply(args=[email.pk])
    send_member_email.apply(args=[email.pk])
    assert len(mailbox.messages) == 1
    email.refresh_from_db()
    assert email.status == DeliveryStatus.UNKNOWN
    # Only someone who checked and requeued it deliberately sends it again.
    assert delivery_requeue(MemberEmail.objects.all(), email.pk)
    send_member_email.apply(args=[email.pk])
    assert len(mailbox.wait_for(2, timeout=5)) == 2
    email.refresh_from_db()
    assert email.status == DeliveryStatus.SENT


def test_each_decision_and_answer_is_mailed_once_whatever_the_task_runs(mailbox):
    admin = user_with_role(Role.ADMINISTRATOR)
    rejected = ApplicantFactory()
    services.member_reject(member=rejected, by=admin, reason="Outside our area")
    MemberFactory(user__email="taken@example.org")
    services.member_apply(
        first_name="Someone",
        last_name="Else",
        email="taken@example.org",
        date_of_birth=rejected.date_of_birth,
        address="1 Main St",
    )
    messages = mailbox.wait_for(2, timeout=5)
    assert sorted(m["To"] for m in messages) == sorted([rejected.user.email, "taken@example.org"])
    for email in MemberEmail.objects.all():
        assert email.status == DeliveryStatus.SENT
        send_member_email.apply(args=[email.pk])
    assert len(mailbox.messages) == 2
    by_kind = {e.kind: e for e in MemberEmail.objects.all()}
    assert set(by_kind) == {MemberEmailKind.REJECTION, MemberEmailKind.ALREADY_REGISTERED}
    assert (
        "Outside our area"
        in next(m for m in messages if m["To"] == rejected.user.email)
        .get_body(("plain",))
        .get_content()
    )


def test_one_welcome_per_admission_is_enforced_by_the_database():
    from django.db import IntegrityError, transaction

    member = services.member_approve(
        member=ApplicantFactory(), by=None, base_url="https://clinic.test/"
    )
    welcome = MemberEmail.objects.get(member=member)
    with pytest.raises(IntegrityError), transaction.atomic():
        MemberEmail.objects.create(
            kind=welcome.kind,
            user=welcome.user,
            member=member,
            status_event=welcome.status_event,
            recipient=welcome.recipient,
        )
