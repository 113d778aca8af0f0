import re

import pytest

from clinic.roles import Role
from members import services
from members.models import ShareCertificate
from tests.factories import user_with_role
from tests.members.factories import ApplicantFactory, MemberFactory, ShareClassFactory, holding
from tests.pdf import pdf_text


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_worker_mails_welcome_and_rejection_through_smtp(celery_worker, mailbox):
    admin = user_with_role(Role.ADMINISTRATOR)
    welcome, rejected = ApplicantFactory(), ApplicantFactory()
    services.member_approve(member=welcome, by=admin, base_url="https://clinic.example.org/")
    services.member_reject(member=rejected, by=admin, reason="Outside our area")
    messages = mailbox.wait_for(2)
    by_recipient = {message["To"]: message for message in messages}
    body = by_recipient[welcome.user.email].get_body(("plain",)).get_content()
    assert re.search(r"https://clinic\.example\.org/accounts/password/reset/key/\S+", body)
    assert (
        "Outside our area" in by_recipient[rejected.user.email].get_body(("plain",)).get_content()
    )


@pytest.mark.django_db
def test_rendering_a_certificate_twice_keeps_the_first_file(
    django_capture_on_commit_callbacks,
):
    member = MemberFactory()
    share_class = ShareClassFactory()
    holding(member, share_class, 1)
    with django_capture_on_commit_callbacks(execute=True):
        certificate = services.share_certificate_for(member=member, share_class=share_class)
    certificate.refresh_from_db()
    name = certificate.file.name
    services.share_certificate_render(certificate_id=certificate.pk)
    assert ShareCertificate.objects.get().file.name == name
    assert member.full_name in pdf_text(certificate.file.read())


@pytest.mark.django_db
def test_welcome_mail_is_not_sent_to_someone_no_longer_active(mailoutbox):
    from members.tasks import send_member_email

    member = services.member_approve(member=ApplicantFactory(), by=None, base_url="http://x/")
    services.member_change_status(
        member=member, to_status="withdrawn", by=None, reason="Moved away"
    )
    send_member_email(member.emails.get().pk)
    assert mailoutbox == []
