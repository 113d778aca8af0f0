"""Staff see a member's emails on the member page and send again one that failed or whose
outcome is unknown (issue 9): an unknown one only once they confirm the recipient did not
get it, and never one already sent, whatever the page they clicked on said."""

import pytest
from django.urls import reverse

from clinic.delivery import DeliveryStatus
from clinic.roles import Role
from members.models import MemberEmail, MemberEmailKind
from tests.factories import user_with_role
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client):
    user = user_with_role(Role.ADMINISTRATOR)
    client.force_login(user)
    return user


def _email(member, status: str) -> MemberEmail:
    email = MemberEmail.objects.create(
        kind=MemberEmailKind.WELCOME,
        user=member.user,
        member=member,
        recipient=member.user.email,
        base_url="http://testserver/",
    )
    MemberEmail.objects.filter(pk=email.pk).update(status=status, last_error="timed out")
    return email


def _resend(client, email, django_capture_on_commit_callbacks, **data):
    url = reverse("members:member_email_resend", args=[email.member_id, email.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data, follow=True)
    email.refresh_from_db()
    return response.content.decode()


def test_the_member_page_lists_emails_with_a_resend_for_failed_ones(client, admin):
    member = MemberFactory()
    failed = _email(member, DeliveryStatus.GAVE_UP)
    page = client.get(reverse("members:member_detail", args=[member.pk])).content.decode()
    assert 'id="member-emails"' in page
    assert reverse("members:member_email_resend", args=[member.pk, failed.pk]) in page


def test_a_failed_email_is_sent_again_once(
    client, admin, mailoutbox, django_capture_on_commit_callbacks
):
    email = _email(MemberFactory(), DeliveryStatus.GAVE_UP)
    page = _resend(client, email, django_capture_on_commit_callbacks)
    assert "queued to be sent again" in page
    assert email.status == DeliveryStatus.SENT
    assert [m.to for m in mailoutbox] == [[email.recipient]]
    # A second click (a stale page) sends nothing more.
    page = _resend(client, email, django_capture_on_commit_callbacks)
    assert "cannot be sent again" in page
    assert email.status == DeliveryStatus.SENT and len(mailoutbox) == 1


def test_an_unknown_email_is_resent_only_once_staff_confirm_they_checked(
    client, admin, mailoutbox, django_capture_on_commit_callbacks
):
    member = MemberFactory()
    email = _email(member, DeliveryStatus.UNKNOWN)
    page = client.get(reverse("members:member_detail", args=[member.pk])).content.decode()
    assert "did not get it before resending" in page
    page = _resend(client, email, django_capture_on_commit_callbacks)
    assert "Check with them that they did not get it" in page
    assert email.status == DeliveryStatus.UNKNOWN and mailoutbox == []
    _resend(client, email, django_capture_on_commit_callbacks, checked="on")
    assert email.status == DeliveryStatus.SENT and len(mailoutbox) == 1


def test_a_sent_email_is_refused_and_stays_sent(
    client, admin, mailoutbox, django_capture_on_commit_callbacks
):
    email = _email(MemberFactory(), DeliveryStatus.SENT)
    page = _resend(client, email, django_capture_on_commit_callbacks, checked="on")
    assert "cannot be sent again" in page
    assert email.status == DeliveryStatus.SENT and mailoutbox == []


def test_another_member_s_email_is_not_found(client, admin):
    email = _email(MemberFactory(), DeliveryStatus.GAVE_UP)
    other = MemberFactory()
    url = reverse("members:member_email_resend", args=[other.pk, email.pk])
    assert client.post(url).status_code == 404
    email.refresh_from_db()
    assert email.status == DeliveryStatus.GAVE_UP


def test_a_member_cannot_resend(client):
    member = MemberFactory()
    email = _email(member, DeliveryStatus.GAVE_UP)
    client.force_login(member.user)
    url = reverse("members:member_email_resend", args=[member.pk, email.pk])
    assert client.post(url).status_code == 403
    email.refresh_from_db()
    assert email.status == DeliveryStatus.GAVE_UP
