"""The office sees, issues and reissues a member's share certificates from the member's
page: issuing is idempotent, a reissue is a new version and the old one is kept,
marked superseded."""

import threading

import pytest
from django.db import connection
from django.urls import reverse

from clinic.roles import Role
from members import services
from members.models import ShareCertificate
from tests.factories import user_with_role
from tests.members.factories import MemberFactory, ShareClassFactory, holding
from tests.pdf import pdf_text


@pytest.fixture
def admin(client):
    user = user_with_role(Role.ADMINISTRATOR)
    client.force_login(user)
    return user


@pytest.fixture
def member():
    member = MemberFactory(user__first_name="Rosa", user__last_name="Costa")
    holding(member, ShareClassFactory(name="Member share"), 2)
    return member


def _share_class(member):
    return member.share_entries.get().share_class


@pytest.mark.django_db
def test_office_issues_a_certificate_from_the_member_page_once(
    client, admin, member, django_capture_on_commit_callbacks
):
    page = client.get(reverse("members:member_detail", args=[member.pk])).content.decode()
    assert "No certificate issued yet." in page
    issue = reverse("members:member_certificate_issue", args=[member.pk, _share_class(member).pk])
    assert issue in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(issue)
        client.post(issue)  # a second click: the same certificate
    certificate = ShareCertificate.objects.get(member=member)
    assert certificate.issued_by == admin and certificate.quantity == 2
    page = client.get(reverse("members:member_detail", args=[member.pk])).content.decode()
    download = reverse("members:member_certificate_download", args=[member.pk, certificate.pk])
    assert download in page and "in force" in page
    response = client.get(download)
    text = pdf_text(b"".join(response.streaming_content))
    assert "Rosa Costa" in text and certificate.number in text


@pytest.mark.django_db
def test_reissuing_asks_first_then_keeps_the_old_certificate_as_superseded(
    client, admin, member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        old = services.share_certificate_for(member=member, share_class=_share_class(member))
    url = reverse("members:member_certificate_reissue", args=[member.pk, old.pk])
    confirm = client.get(url).content.decode()
    assert f"Reissue certificate {old.number}?" in confirm
    assert "marked superseded" in confirm
    assert ShareCertificate.objects.count() == 1  # asking changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url)
        client.post(url)  # the confirmation sent twice: one new version
    new = ShareCertificate.objects.get(superseded_on__isnull=True)
    old.refresh_from_db()
    assert ShareCertificate.objects.count() == 2
    assert (old.superseded_by, old.superseded_on is not None) == (new, True)
    assert (new.version, new.quantity, new.last_entry_id) == (2, 2, old.last_entry_id)
    assert "version 2" in pdf_text(new.file.read())
    page = client.get(reverse("members:member_detail", args=[member.pk])).content.decode()
    assert "superseded" in page and f"by {new.number}" in page
    # The member's own page offers only the certificate in force.
    client.force_login(member.user)
    mine = client.get(reverse("members:my_membership")).content.decode()
    assert reverse("members:certificate_download", args=[new.pk]) in mine
    assert reverse("members:certificate_download", args=[old.pk]) not in mine


@pytest.mark.django_db
def test_a_changed_holding_supersedes_the_earlier_certificate(client, admin, member):
    share_class = _share_class(member)
    first = services.share_certificate_for(member=member, share_class=share_class)
    services.share_subscribe(member=member, share_class=share_class, quantity=1, by=None)
    second = services.share_certificate_for(member=member, share_class=share_class, by=admin)
    first.refresh_from_db()
    assert first.superseded_by == second and second.quantity == 3
    # Reissuing the stale one certifies today's holding; nothing else changes.
    assert services.share_certificate_reissue(certificate=first, by=admin) == second


@pytest.mark.django_db
def test_another_members_certificate_is_404_for_the_office_too(client, admin, member):
    certificate = services.share_certificate_for(member=member, share_class=_share_class(member))
    other = MemberFactory()
    for name in ("members:member_certificate_download", "members:member_certificate_reissue"):
        url = reverse(name, args=[other.pk, certificate.pk])
        assert client.get(url).status_code == 404
        assert client.post(url).status_code == 404
    assert ShareCertificate.objects.count() == 1


@pytest.mark.django_db
def test_members_and_clinicians_cannot_issue_or_reissue(client, member):
    certificate = services.share_certificate_for(member=member, share_class=_share_class(member))
    client.force_login(member.user)
    url = reverse("members:member_certificate_reissue", args=[member.pk, certificate.pk])
    assert client.post(url).status_code == 403
    issue = reverse("members:member_certificate_issue", args=[member.pk, _share_class(member).pk])
    assert client.post(issue).status_code == 403
    assert ShareCertificate.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_reissues_at_once_make_one_new_version(member):
    admin = user_with_role(Role.ADMINISTRATOR)
    old = services.share_certificate_for(member=member, share_class=_share_class(member))
    results, barrier = [], threading.Barrier(2)

    def reissue():
        try:
            barrier.wait()
            results.append(services.share_certificate_reissue(certificate=old, by=admin).pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=reissue) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2 and results[0] == results[1]
    assert ShareCertificate.objects.filter(member=member).count() == 2
    assert ShareCertificate.objects.filter(member=member, superseded_on__isnull=True).count() == 1
