import datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.roles import Role
from governance import services
from governance.models import (
    Ballot,
    BallotStatus,
    CastBallot,
    EligibleVoter,
    Meeting,
    MeetingDocument,
    MeetingKind,
    Participation,
    PendingChoice,
    ProxyAppointment,
)
from tests.careteam.factories import PractitionerFactory
from tests.factories import user_with_role
from tests.governance.factories import MeetingFactory, election, motion, option
from tests.members.factories import MemberFactory
from tests.reauth import reauthenticate

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def person(role: Role | None):
    if role is None:
        return None
    if role is Role.MEMBER:
        return MemberFactory().user
    if role in (Role.CLINICIAN, Role.HUB_COORDINATOR):
        return PractitionerFactory(user__roles=[role]).user
    return user_with_role(role)


@pytest.fixture
def world(django_capture_on_commit_callbacks):
    voters = MemberFactory.create_batch(3)
    meeting = MeetingFactory()
    document = services.meeting_document_add(
        meeting=meeting,
        title="Annual report",
        upload=SimpleUploadedFile("report.pdf", PDF, content_type="application/pdf"),
    )
    board_meeting = MeetingFactory(kind=MeetingKind.BOARD, title="Board meeting")
    board_document = services.meeting_document_add(
        meeting=board_meeting,
        title="Board papers",
        upload=SimpleUploadedFile("papers.pdf", PDF, content_type="application/pdf"),
    )
    open_ballot = services.ballot_open(ballot=motion(meeting=meeting, allow_proxies=True))
    closed = services.ballot_open(ballot=motion(title="Last year's motion"))
    services.vote_cast(
        ballot=closed, voter=voters[0], cast_by=voters[0], option_ids=[option(closed, "for").pk]
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.ballot_close(ballot=closed)
    draft = motion(title="Draft motion")
    return {
        "voters": voters,
        "meeting": meeting,
        "document": document,
        "board_meeting": board_meeting,
        "board_document": board_document,
        "open": open_ballot,
        "closed": closed,
        "draft": draft,
    }


MEMBER_VIEWS = [
    ("governance:index", None),
    ("governance:ballot_detail", "open"),
    ("governance:ballot_vote", "open"),
    ("governance:proxy_appoint", "open"),
    ("governance:proxy_revoke", "open"),
]
SHARED_VIEWS = [
    ("governance:meeting_detail", "meeting"),
    ("governance:document_download", "document"),
    ("governance:ballot_results", "closed"),
    ("governance:ballot_results_pdf", "closed"),
]
ADMIN_VIEWS = [
    ("governance:manage", None),
    ("governance:meeting_create", None),
    ("governance:meeting_manage", "meeting"),
    ("governance:meeting_edit", "meeting"),
    ("governance:agenda_add", "meeting"),
    ("governance:document_upload", "meeting"),
    ("governance:notice_send", "meeting"),
    ("governance:notice_progress", "meeting"),
    ("governance:notice_requeue", "meeting"),
    ("governance:postal_notices_pdf", "meeting"),
    ("governance:ballot_create", None),
    ("governance:ballot_manage", "open"),
    ("governance:ballot_edit", "draft"),
    ("governance:ballot_open", "draft"),
    ("governance:ballot_close", "open"),
    ("governance:ballot_cancel", "open"),
    ("governance:board_apply", "closed"),
    ("governance:board", None),
]


def url(world, name: str, key: str | None) -> str:
    if key is None:
        return reverse(name)
    if key == "document":
        return reverse(name, args=[world["meeting"].pk, world["document"].pk])
    if name in ("governance:postal_notices_pdf", "governance:notice_requeue"):
        return reverse(name, args=[world["meeting"].pk, 99999])
    return reverse(name, args=[world[key].pk])


ROLES = [None, *Role]
ALLOWED = {
    "member": {Role.MEMBER},
    "shared": {Role.MEMBER, Role.ADMINISTRATOR},
    "admin": {Role.ADMINISTRATOR},
}


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value if r else "anonymous")
def test_every_role_against_every_view(client, world, role):
    user = person(role)
    if user:
        client.force_login(user)
    groups = [("member", MEMBER_VIEWS), ("shared", SHARED_VIEWS), ("admin", ADMIN_VIEWS)]
    for group, views in groups:
        for name, key in views:
            response = client.get(url(world, name, key))
            if role is None:
                assert response.status_code == 302, name
                assert response.url.startswith(reverse("account_login")), name
            elif role in ALLOWED[group]:
                # POST-only actions answer 405 to a GET; no postal batch exists (guessed id).
                assert response.status_code in (200, 405) or (
                    name == "governance:postal_notices_pdf" and response.status_code == 404
                ), (name, response.status_code)
            else:
                assert response.status_code == 403, (role, name, response.status_code)


def test_members_get_404_for_board_meetings_drafts_and_unclosed_results(client, world):
    client.force_login(world["voters"][0].user)
    not_found = [
        reverse("governance:meeting_detail", args=[world["board_meeting"].pk]),
        reverse(
            "governance:document_download",
            args=[world["board_meeting"].pk, world["board_document"].pk],
        ),
        # A document requested under another meeting's id.
        reverse(
            "governance:document_download", args=[world["meeting"].pk, world["board_document"].pk]
        ),
        reverse("governance:ballot_detail", args=[world["draft"].pk]),
        reverse("governance:ballot_vote", args=[world["draft"].pk]),
        reverse("governance:ballot_results", args=[world["open"].pk]),
        reverse("governance:ballot_results_pdf", args=[world["open"].pk]),
        reverse("governance:ballot_detail", args=[99999]),
        reverse("governance:meeting_detail", args=[99999]),
    ]
    for address in not_found:
        assert client.get(address).status_code == 404, address


def test_administrators_see_board_meetings_and_members_see_general_documents(client, world):
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    assert (
        client.get(
            reverse("governance:meeting_detail", args=[world["board_meeting"].pk])
        ).status_code
        == 200
    )
    client.force_login(world["voters"][1].user)
    response = client.get(url(world, "governance:document_download", "document"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF


def test_member_votes_with_a_confirmation_step_and_gets_a_receipt(client, world):
    ballot = world["open"]
    voter = world["voters"][1]
    client.force_login(voter.user)
    address = reverse("governance:ballot_vote", args=[ballot.pk])
    page = client.get(address).content.decode()
    assert "Your vote" in page
    choice = option(ballot, "against").pk
    review = client.post(address, {"choice": [choice], "review": "1"})
    assert "Confirm your vote" in review.content.decode()
    assert not Participation.objects.filter(ballot=ballot).exists()
    cast = client.post(address, {"choice": [choice], "confirm": "1"})
    receipt = PendingChoice.objects.get(ballot=ballot).receipt
    assert receipt in cast.content.decode()
    # Afterwards the member sees that they voted, never how.
    detail = client.get(reverse("governance:ballot_detail", args=[ballot.pk])).content.decode()
    assert "You have voted" in detail and receipt not in detail and "Against" not in detail
    again = client.post(address, {"choice": [choice], "confirm": "1"}, follow=True)
    assert "already been recorded" in again.content.decode()
    assert PendingChoice.objects.filter(ballot=ballot).count() == 1


def test_bad_vote_input_shows_an_error_and_changes_nothing(client, world):
    client.force_login(world["voters"][1].user)
    address = reverse("governance:ballot_vote", args=[world["open"].pk])
    response = client.post(address, {"choice": ["999999"], "confirm": "1"})
    assert response.status_code == 200
    assert "is-invalid" in response.content.decode()
    assert not Participation.objects.filter(ballot=world["open"]).exists()


def test_a_member_who_is_not_eligible_is_told_so(client, world):
    newcomer = MemberFactory(admitted_on=timezone.localdate())
    client.force_login(newcomer.user)
    page = client.get(reverse("governance:ballot_detail", args=[world["open"].pk])).content
    assert b"not on the list of eligible voters" in page
    mine = client.get(reverse("members:my_membership")).content.decode()
    assert world["open"].title in mine and "Not eligible" in mine


def test_member_home_page_lists_open_ballots_and_the_governance_link(client, world):
    client.force_login(world["voters"][0].user)
    page = client.get(reverse("members:my_membership")).content.decode()
    assert world["open"].title in page
    assert "You are eligible" in page
    assert reverse("governance:index") in page
    assert world["draft"].title not in page


def test_proxy_is_appointed_and_votes_through_the_pages(client, world):
    grantor, proxy = world["voters"][1], world["voters"][2]
    ballot = world["open"]
    client.force_login(grantor.user)
    # The proxy is found by name among the eligible voters, then chosen.
    detail = reverse("governance:ballot_detail", args=[ballot.pk])
    found = client.get(detail, {"q": proxy.user.last_name}).content.decode()
    assert proxy.full_name in found and f'name="proxy" value="{proxy.pk}"' in found
    client.post(reverse("governance:proxy_appoint", args=[ballot.pk]), {"proxy": proxy.pk})
    assert ProxyAppointment.objects.filter(ballot=ballot, grantor=grantor, proxy=proxy).exists()
    client.force_login(proxy.user)
    detail = client.get(reverse("governance:ballot_detail", args=[ballot.pk])).content.decode()
    assert grantor.full_name in detail
    address = reverse("governance:ballot_vote", args=[ballot.pk]) + f"?for={grantor.number}"
    response = client.post(address, {"choice": [option(ballot, "for").pk], "confirm": "1"})
    assert response.status_code == 200
    assert Participation.objects.get(ballot=ballot, voter=grantor).cast_by == proxy
    # Someone without the proxy cannot vote for the grantor: the page is simply not found.
    client.force_login(world["voters"][0].user)
    other = world["voters"][0]
    response = client.post(
        reverse("governance:ballot_vote", args=[ballot.pk]) + f"?for={proxy.number}",
        {"choice": [option(ballot, "for").pk], "confirm": "1"},
    )
    assert response.status_code == 404
    assert not Participation.objects.filter(ballot=ballot, voter=proxy).exists()
    assert not Participation.objects.filter(ballot=ballot, voter=other).exists()


def minute(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_general_meeting_inside_the_notice_period_is_refused_and_the_form_says_so(client):
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    address = reverse("governance:meeting_create")
    assert "at least 14 days" in client.get(address).content.decode()
    soon = timezone.localtime() + datetime.timedelta(days=10)
    data = {
        "kind": MeetingKind.ANNUAL,
        "title": "Too soon",
        "starts_at": minute(soon),
        "ends_at": minute(soon + datetime.timedelta(hours=2)),
        "place": "Hall",
    }
    response = client.post(address, data)
    assert response.status_code == 200
    assert "needs at least 14 days&#x27; notice" in response.content.decode()
    assert not Meeting.objects.exists()
    # A board meeting needs no members' notice.
    response = client.post(address, {**data, "kind": MeetingKind.BOARD, "title": "Board"})
    assert response.status_code == 302
    later = timezone.localtime() + datetime.timedelta(days=15)
    response = client.post(
        address,
        {
            **data,
            "starts_at": minute(later),
            "ends_at": minute(later + datetime.timedelta(hours=3)),
        },
    )
    assert response.status_code == 302
    meeting = Meeting.objects.get(title="Too soon")
    assert timezone.localtime(meeting.starts_at).hour == later.hour
    assert meeting.ends_at - meeting.starts_at == datetime.timedelta(hours=3)


def test_a_meeting_that_ends_before_it_starts_is_refused(client):
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    later = timezone.localtime() + datetime.timedelta(days=30)
    response = client.post(
        reverse("governance:meeting_create"),
        {
            "kind": MeetingKind.ANNUAL,
            "title": "Backwards",
            "starts_at": minute(later),
            "ends_at": minute(later),
            "place": "Hall",
        },
    )
    assert response.status_code == 200
    assert "A meeting ends after it starts." in response.content.decode()
    assert not Meeting.objects.exists()
    with pytest.raises(ValidationError, match="ends after it starts"):
        services.meeting_schedule(
            kind=MeetingKind.BOARD,
            title="Backwards",
            starts_at=later,
            ends_at=later - datetime.timedelta(hours=1),
            place="Hall",
        )
    # The database refuses it too, whatever the code path.
    with pytest.raises(IntegrityError), transaction.atomic():
        MeetingFactory(ends_at=later, starts_at=later)
    assert not Meeting.objects.exists()


def test_the_meetings_times_are_fixed_once_the_notice_is_sent(client, world):
    meeting = world["meeting"]
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    data = {
        "title": meeting.title,
        "starts_at": minute(meeting.starts_at),
        "ends_at": minute(meeting.ends_at + datetime.timedelta(hours=1)),
        "place": meeting.place,
        "online_link": "",
        "minutes": "",
    }
    address = reverse("governance:meeting_edit", args=[meeting.pk])
    assert client.post(address, data).status_code == 302
    meeting.refresh_from_db()
    assert meeting.ends_at - meeting.starts_at == datetime.timedelta(hours=3, minutes=30)
    services.meeting_send_notice(meeting=meeting)
    later = {**data, "ends_at": minute(meeting.ends_at + datetime.timedelta(hours=1))}
    response = client.post(address, later)
    assert "times can no longer change" in response.content.decode()
    ends_at = meeting.ends_at
    meeting.refresh_from_db()
    assert meeting.ends_at == ends_at


def test_meeting_needs_a_place_or_link(client):
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    later = timezone.localtime() + datetime.timedelta(days=30)
    response = client.post(
        reverse("governance:meeting_create"),
        {
            "kind": MeetingKind.ANNUAL,
            "title": "X",
            "starts_at": minute(later),
            "ends_at": minute(later + datetime.timedelta(hours=2)),
        },
    )
    assert "place, an online link" in response.content.decode()
    assert not Meeting.objects.exists()


def test_only_pdf_documents_can_be_attached(client, world):
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    address = reverse("governance:document_upload", args=[world["meeting"].pk])
    fake = SimpleUploadedFile(
        "report.pdf", b"<html>not a pdf</html>", content_type="application/pdf"
    )
    response = client.post(address, {"title": "Fake", "file": fake})
    assert "not a PDF" in response.content.decode()
    assert not MeetingDocument.objects.filter(title="Fake").exists()
    real = SimpleUploadedFile("accounts.pdf", PDF, content_type="application/pdf")
    assert client.post(address, {"title": "Accounts", "file": real}).status_code == 302
    assert MeetingDocument.objects.filter(title="Accounts").exists()


def test_minutes_are_recorded_once_held_and_appear_on_the_members_meeting_page(client, world):
    meeting = world["meeting"]
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    client.post(reverse("governance:agenda_add", args=[meeting.pk]), {"title": "Welcome"})
    address = reverse("governance:meeting_edit", args=[meeting.pk])

    def save_minutes():
        meeting.refresh_from_db()
        return client.post(
            address,
            {
                "title": meeting.title,
                "starts_at": minute(meeting.starts_at),
                "ends_at": minute(meeting.ends_at),
                "place": meeting.place,
                "online_link": "",
                "minutes": "The accounts were approved.",
            },
        )

    # Not before the meeting has been held.
    assert "once the meeting has been held" in save_minutes().content.decode()
    assert not Meeting.objects.get(pk=meeting.pk).minutes
    held = timezone.now().replace(second=0, microsecond=0) - datetime.timedelta(days=1)
    Meeting.objects.filter(pk=meeting.pk).update(
        starts_at=held, ends_at=held + datetime.timedelta(hours=2)
    )
    assert save_minutes().status_code == 302
    client.force_login(world["voters"][0].user)
    page = client.get(reverse("governance:meeting_detail", args=[meeting.pk])).content.decode()
    assert "Welcome" in page and "The accounts were approved." in page


def test_administrator_creates_opens_and_closes_a_ballot_through_the_pages(
    client, world, django_capture_on_commit_callbacks
):
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    now = timezone.localtime()
    response = client.post(
        reverse("governance:ballot_create") + f"?meeting={world['meeting'].pk}",
        {
            "title": "Change rule 7",
            "kind": "motion",
            "majority_rule": "two_thirds",
            "seats": 1,
            "record_date": (now.date() - datetime.timedelta(days=1)).isoformat(),
            "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
            "closes_at": (now + datetime.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
            "quorum_percent": "25",
        },
    )
    ballot = Ballot.objects.get(title="Change rule 7")
    assert response.url == reverse("governance:ballot_manage", args=[ballot.pk])
    assert ballot.meeting == world["meeting"] and str(ballot.quorum) == "0.250"
    client.post(reverse("governance:ballot_open", args=[ballot.pk]))
    assert EligibleVoter.objects.filter(ballot=ballot).count() == 3
    page = client.get(reverse("governance:ballot_manage", args=[ballot.pk])).content.decode()
    assert "0 of 3 eligible voters have voted" in page
    # Closing asks first, saying what will happen; only the confirmation closes.
    close = reverse("governance:ballot_close", args=[ballot.pk])
    confirm = client.get(close).content.decode()
    assert "Voting ends now" in confirm and "published to members at once" in confirm
    assert "cannot be undone" in confirm
    ballot.refresh_from_db()
    assert ballot.status == BallotStatus.OPEN
    reauthenticate(client)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(close)
    ballot.refresh_from_db()
    assert ballot.status == BallotStatus.CLOSED and ballot.results_pdf


def test_bad_ballot_input_changes_nothing(client, world):
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    now = timezone.localtime()
    response = client.post(
        reverse("governance:ballot_create"),
        {
            "title": "Bad",
            "kind": "election",
            "majority_rule": "simple",
            "seats": 1,
            "record_date": now.date().isoformat(),
            "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
            "closes_at": (now - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "quorum_percent": "150",
        },
    )
    page = response.content.decode()
    assert "decided by plurality" in page and "needs candidates" in page
    assert not Ballot.objects.filter(title="Bad").exists()


def test_results_page_shows_outcome_and_finds_a_receipt(client, world):
    ballot = world["closed"]
    receipt = CastBallot.objects.get(ballot=ballot).receipt
    client.force_login(world["voters"][2].user)
    address = reverse("governance:ballot_results", args=[ballot.pk])
    page = client.get(address, {"receipt": receipt.lower()}).content.decode()
    assert "Your ballot is among those counted" in page and receipt in page
    page = client.get(address, {"receipt": "NOPE-NOPE-NOPE"}).content.decode()
    assert "No counted ballot has this receipt" in page
    pdf = client.get(reverse("governance:ballot_results_pdf", args=[ballot.pk]))
    from tests.pdf import pdf_text

    text = pdf_text(b"".join(pdf.streaming_content))
    assert receipt in text and "Ballots cast" in text


def test_board_election_applied_through_the_page_shows_on_the_members_page(
    client, django_capture_on_commit_callbacks
):
    from decimal import Decimal

    a, b, c = MemberFactory.create_batch(3)
    poll = services.ballot_open(ballot=election(candidates=[a, b], quorum=Decimal("0.1")))
    for voter in (a, b, c):
        services.vote_cast(
            ballot=poll, voter=voter, cast_by=voter, option_ids=[option(poll, a.full_name).pk]
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.ballot_close(ballot=poll)
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    today = timezone.localdate()
    client.post(
        reverse("governance:board_apply", args=[poll.pk]),
        {
            "role": "chair",
            "starts_on": today.isoformat(),
            "ends_on": (today + datetime.timedelta(days=700)).isoformat(),
        },
    )
    client.force_login(c.user)
    page = client.get(reverse("governance:index")).content.decode()
    assert a.full_name in page and "Chair" in page


def _queries(client, address) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(address).status_code == 200
    return len(captured)


def test_governance_pages_use_the_same_number_of_queries_at_any_size(client):
    member = MemberFactory()
    admin = user_with_role(Role.ADMINISTRATOR)

    def grow(n: int) -> Ballot:
        for i in range(n):
            meeting = MeetingFactory(title=f"Meeting {i}")
            services.agenda_item_add(meeting=meeting, title="Item")
            services.ballot_open(ballot=motion(meeting=meeting, title=f"Motion {i}"))
        closed = services.ballot_open(ballot=motion(title="Big"))
        CastBallot.objects.bulk_create(
            [CastBallot(ballot=closed, receipt=f"R{i:05d}-{closed.pk}") for i in range(n * 10)]
        )
        services.ballot_close(ballot=closed)
        return closed

    small = grow(2)
    pages = {
        "index": (member.user, reverse("governance:index")),
        "home": (member.user, reverse("members:my_membership")),
        "manage": (admin, reverse("governance:manage")),
        "board": (admin, reverse("governance:board")),
    }
    before = {}
    for key, (user, address) in pages.items():
        client.force_login(user)
        before[key] = _queries(client, address)
    client.force_login(member.user)
    before["results"] = _queries(client, reverse("governance:ballot_results", args=[small.pk]))
    big = grow(30)
    for key, (user, address) in pages.items():
        client.force_login(user)
        assert _queries(client, address) == before[key], key
    client.force_login(member.user)
    assert (
        _queries(client, reverse("governance:ballot_results", args=[big.pk])) == before["results"]
    )
