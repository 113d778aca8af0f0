"""Eligibility, timing, board ballots, proxies and what voting members and staff see."""

import datetime
import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from clinic.delivery import DeliveryStatus
from clinic.roles import Role
from governance import selectors, services
from governance.models import (
    Ballot,
    BallotMail,
    BallotMailKind,
    BallotStatus,
    BoardTerm,
    EligibleVoter,
    MeetingKind,
    PendingChoice,
)
from tests.billing.helpers import member_invoice
from tests.factories import user_with_role
from tests.governance.factories import MeetingFactory, election, motion, option
from tests.members.factories import MemberFactory
from tests.pdf import pdf_text

pytestmark = pytest.mark.django_db

YESTERDAY = datetime.timedelta(days=1)


def vote(ballot, member, choice, cast_by=None):
    return services.vote_cast(
        ballot=ballot,
        voter=member,
        cast_by=cast_by or member,
        option_ids=[option(ballot, choice).pk],
    )


# --- Timing -----------------------------------------------------------------------------


def test_a_ballot_does_not_open_before_its_opening_time():
    MemberFactory()
    ballot = motion(opens_at=timezone.now() + datetime.timedelta(hours=2))
    with pytest.raises(ValidationError, match="before its opening time"):
        services.ballot_open(ballot=ballot)
    assert services.ballots_open_and_close_due() == (0, 0)
    ballot.refresh_from_db()
    assert ballot.status == BallotStatus.DRAFT and not EligibleVoter.objects.exists()


def test_a_ballot_does_not_open_until_its_record_date_has_passed():
    with pytest.raises(ValidationError, match="record date must be before"):
        motion(record_date=timezone.localdate())
    ballot = motion()
    # A record date of today (set below the service) would snapshot a standing that can
    # still change today: the ballot waits, and the periodic job leaves it alone.
    Ballot.objects.filter(pk=ballot.pk).update(record_date=timezone.localdate())
    with pytest.raises(ValidationError, match="until its record date"):
        services.ballot_open(ballot=ballot)
    assert services.ballots_open_and_close_due() == (0, 0)


def test_votes_are_refused_outside_the_opening_hours():
    member = MemberFactory()
    ballot = services.ballot_open(ballot=motion())
    Ballot.objects.filter(pk=ballot.pk).update(
        opens_at=timezone.now() + datetime.timedelta(hours=1)
    )
    with pytest.raises(ValidationError, match="not open"):
        vote(ballot, member, "for")
    Ballot.objects.filter(pk=ballot.pk).update(
        opens_at=timezone.now() - datetime.timedelta(days=2),
        closes_at=timezone.now() - datetime.timedelta(seconds=1),
    )
    with pytest.raises(ValidationError, match="not open"):
        vote(ballot, member, "for")
    assert not PendingChoice.objects.exists()


# --- Board ballots ----------------------------------------------------------------------


def test_a_board_meetings_ballot_is_for_board_members_only(client):
    chair, director = MemberFactory.create_batch(2)
    member = MemberFactory()
    on = timezone.localdate() - datetime.timedelta(days=30)
    for board_member in (chair, director):
        BoardTerm.objects.create(
            member=board_member, role="director", starts_on=on, ends_on=on.replace(year=on.year + 2)
        )
    board = MeetingFactory(kind=MeetingKind.BOARD, title="Board meeting")
    ballot = services.ballot_open(ballot=motion(meeting=board, title="Approve the budget"))
    assert set(EligibleVoter.objects.filter(ballot=ballot).values_list("member", flat=True)) == {
        chair.pk,
        director.pk,
    }
    # The quorum counts board members, not the membership.
    assert ballot.eligible_count == 2
    vote(ballot, chair, "for")
    assert selectors.ballot_tally(ballot).outcome.quorum_met is False  # nothing counted yet
    with pytest.raises(ValidationError, match="not on the list"):
        vote(ballot, member, "for")
    client.force_login(member.user)
    assert client.get(reverse("governance:ballot_detail", args=[ballot.pk])).status_code == 404
    assert "Approve the budget" not in client.get(reverse("governance:index")).content.decode()
    client.force_login(director.user)
    assert client.get(reverse("governance:ballot_detail", args=[ballot.pk])).status_code == 200
    assert "Approve the budget" in client.get(reverse("governance:index")).content.decode()
    services.ballot_close(ballot=ballot)
    assert selectors.ballot_tally(ballot).outcome.quorum_met  # 1 of 2 board members


# --- Proxies ----------------------------------------------------------------------------


def test_the_vote_page_for_someone_without_a_valid_proxy_is_the_same_404_for_every_number(
    client,
):
    grantor, holder, outsider = MemberFactory.create_batch(3)
    in_arrears = member_invoice().member
    ballot = services.ballot_open(ballot=motion(allow_proxies=True))
    assert not EligibleVoter.objects.filter(ballot=ballot, member=in_arrears).exists()
    services.proxy_appoint(ballot=ballot, grantor=grantor, proxy=holder)
    address = reverse("governance:ballot_vote", args=[ballot.pk])
    client.force_login(outsider.user)
    answers = []
    for number in [grantor.number, in_arrears.number, holder.number, 99999, "x1", "", "9" * 40]:
        response = client.get(address, {"for": number})
        assert response.status_code == 404, number
        # The CSRF token is masked afresh on every page; everything else must be identical.
        answers.append(re.sub(rb'"X-CSRFToken": "[^"]*"|value="[^"]{64}"', b"", response.content))
        for person in (grantor, in_arrears, holder):
            assert person.full_name.encode() not in response.content
    assert len(set(answers)) == 1
    # The holder of the proxy gets the page, naming the member they vote for.
    client.force_login(holder.user)
    response = client.get(address, {"for": grantor.number})
    assert response.status_code == 200 and grantor.full_name in response.content.decode()


def test_a_proxy_is_found_by_name_among_eligible_voters_only(client):
    grantor = MemberFactory(user__first_name="Ada", user__last_name="Grant")
    wanted = MemberFactory(user__first_name="Olu", user__last_name="Okafor")
    ballot = services.ballot_open(ballot=motion(allow_proxies=True))
    newcomer = MemberFactory(user__first_name="Olu", user__last_name="Okonkwo")  # not eligible
    assert selectors.proxy_candidates(ballot, member=grantor, query="Ok") == []  # too short
    assert selectors.proxy_candidates(ballot, member=grantor, query="olu ok") == [wanted]
    assert selectors.proxy_candidates(ballot, member=wanted, query="Okafor") == []  # not self
    client.force_login(grantor.user)
    page = client.get(reverse("governance:ballot_detail", args=[ballot.pk]), {"q": "Olu"})
    text = page.content.decode()
    assert wanted.full_name in text and newcomer.full_name not in text
    # A member id that is not an eligible voter is refused, whatever is posted.
    client.post(reverse("governance:proxy_appoint", args=[ballot.pk]), {"proxy": newcomer.pk})
    assert not ballot.proxies.exists()
    client.post(reverse("governance:proxy_appoint", args=[ballot.pk]), {"proxy": wanted.pk})
    assert ballot.proxies.get().proxy == wanted


def test_a_proxy_holder_votes_once_for_themselves_and_once_per_valid_proxy():
    holder, first, second, stranger = MemberFactory.create_batch(4)
    ballot = services.ballot_open(ballot=motion(allow_proxies=True))
    services.proxy_appoint(ballot=ballot, grantor=first, proxy=holder)
    services.proxy_appoint(ballot=ballot, grantor=second, proxy=holder)
    vote(ballot, holder, "for")
    vote(ballot, first, "against", cast_by=holder)
    vote(ballot, second, "for", cast_by=holder)
    for voter in (holder, first, second):
        with pytest.raises(ValidationError, match="already been recorded"):
            vote(ballot, voter, "for", cast_by=holder)
    with pytest.raises(ValidationError, match="do not hold"):
        vote(ballot, stranger, "for", cast_by=holder)
    services.ballot_close(ballot=ballot)
    assert selectors.ballot_tally(ballot).ballots_cast == 3


# --- Ballot emails ----------------------------------------------------------------------


def test_every_eligible_voter_is_emailed_once_when_the_ballot_opens_in_their_language(
    settings, django_capture_on_commit_callbacks
):
    settings.CLINIC_SITE_URL = "https://clinic.example.org"
    english = MemberFactory()
    spanish = MemberFactory(preferred_language="es")
    MemberFactory(admitted_on=timezone.localdate())  # not eligible on the record date
    with django_capture_on_commit_callbacks(execute=True):
        ballot = services.ballot_open(ballot=motion(description="Approve the 2026 accounts."))
    assert sorted(m.to[0] for m in mail.outbox) == sorted([english.user.email, spanish.user.email])
    by_address = {m.to[0]: m for m in mail.outbox}
    message = by_address[english.user.email]
    assert ballot.title in message.subject
    assert "Approve the 2026 accounts." in message.body
    assert f"https://clinic.example.org/governance/ballots/{ballot.pk}/" in message.body
    assert "Voting closes:" in message.body and "(CET)" in message.body
    assert by_address[spanish.user.email].extra_headers["Content-Language"] == "es"
    assert set(BallotMail.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    # Dispatching again sends nothing: each email is recorded and sent once.
    with django_capture_on_commit_callbacks(execute=True):
        services.ballot_mail_dispatch(ballot_id=ballot.pk, kind=BallotMailKind.OPENED)
    assert len(mail.outbox) == 2


def test_a_ballot_mail_chunk_costs_the_same_queries_with_two_emails_as_with_four():
    """Ballot mail goes through clinic.delivery.deliver_batch too: no email costs a query
    of its own, and a chunk run again mails nobody twice."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    MemberFactory.create_batch(6)
    ballot = services.ballot_open(ballot=motion())  # on-commit work not run: all queued
    ids = list(BallotMail.objects.order_by("pk").values_list("pk", flat=True))
    assert len(ids) == 6

    def queries(chunk: list[int]) -> int:
        with CaptureQueriesContext(connection) as captured:
            services.ballot_mail_send_chunk(ballot_id=ballot.pk, mail_ids=chunk)
        return len([q for q in captured if "SAVEPOINT" not in q["sql"]])

    assert queries(ids[:2]) == queries(ids[2:6])
    services.ballot_mail_send_chunk(ballot_id=ballot.pk, mail_ids=ids)
    assert len(mail.outbox) == 6
    assert len({m.to[0] for m in mail.outbox}) == 6


def test_non_voters_get_one_reminder_days_before_closing(
    settings, django_capture_on_commit_callbacks
):
    settings.CLINIC_BALLOT_REMINDER_DAYS = 2
    voter, forgetful = MemberFactory.create_batch(2)
    ballot = services.ballot_open(
        ballot=motion(closes_at=timezone.now() + datetime.timedelta(days=5))
    )
    vote(ballot, voter, "for")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.ballot_reminders_due() == 0  # five days out: not yet
    later = timezone.now() + datetime.timedelta(days=3, hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.ballot_reminders_due(now=later) == 1
    assert [m.to[0] for m in mail.outbox] == [forgetful.user.email]
    assert "Reminder" in mail.outbox[0].subject
    with django_capture_on_commit_callbacks(execute=True):
        assert services.ballot_reminders_due(now=later) == 0
        assert services.ballot_reminders_queue(ballot_id=ballot.pk) == 0
    assert len(mail.outbox) == 1


def test_the_beat_schedule_flushes_ballot_boxes_and_sends_reminders(settings):
    from clinic.celery import app

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "governance.tasks.flush_ballot_boxes",
        "governance.tasks.remind_ballot_non_voters",
    } <= tasks
    assert {t for t in tasks if t.startswith("governance.")} <= set(app.tasks)


# --- Results and receipts ---------------------------------------------------------------


def test_the_receipt_check_ignores_spaces_dashes_and_case(client):
    member = MemberFactory()
    ballot = services.ballot_open(ballot=motion())
    receipt = vote(ballot, member, "for")
    services.ballot_close(ballot=ballot)
    code = receipt.replace("-", "")
    for typed in [
        receipt,
        receipt.lower(),
        code,
        f"  {code[:4]} {code[4:8]}  {code[8:]} ",
        "-".join(code.lower()),
    ]:
        assert selectors.receipt_counted(ballot, typed), typed
    assert not selectors.receipt_counted(ballot, code[:-1])
    client.force_login(member.user)
    page = client.get(
        reverse("governance:ballot_results", args=[ballot.pk]), {"receipt": code.lower()}
    )
    assert "among those counted" in page.content.decode()


def test_results_show_counts_percentages_quorum_rule_and_an_accessible_chart(
    client, django_capture_on_commit_callbacks
):
    members = MemberFactory.create_batch(4)
    ballot = services.ballot_open(ballot=motion(rule="two_thirds", quorum="0.5"))
    for member, choice in zip(members[:3], ["for", "for", "against"], strict=True):
        vote(ballot, member, choice)
    with django_capture_on_commit_callbacks(execute=True):
        services.ballot_close(ballot=ballot)
    client.force_login(members[0].user)
    page = client.get(reverse("governance:ballot_results", args=[ballot.pk])).content.decode()
    assert "Two-thirds majority" in page
    assert "66.7%" in page and "33.3%" in page and "75.0%" in page  # of cast; turnout 3/4
    assert "50.0% of eligible voters" in page and "met" in page
    assert 'role="img"' in page and "<title" in page and "<desc" in page
    assert "For: 2 votes (66.7%)" in page
    ballot.refresh_from_db()
    text = pdf_text(ballot.results_pdf.read())
    assert "66.7%" in text and "Two-thirds majority" in text and "75.0%" in text


def test_receipt_codes_are_never_broken_across_lines_in_the_results_pdf(
    django_capture_on_commit_callbacks,
):
    members = MemberFactory.create_batch(40)
    ballot = services.ballot_open(ballot=motion())
    receipts = [vote(ballot, member, "for") for member in members]
    with django_capture_on_commit_callbacks(execute=True):
        services.ballot_close(ballot=ballot)
    ballot.refresh_from_db()
    text = pdf_text(ballot.results_pdf.read())
    missing = [receipt for receipt in receipts if receipt not in text]
    assert missing == []


# --- Administrators ---------------------------------------------------------------------


def test_administrators_see_live_turnout_counts_and_nothing_of_the_choices(client):
    members = MemberFactory.create_batch(3)
    ballot = services.ballot_open(ballot=motion())
    vote(ballot, members[0], "against")
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    address = reverse("governance:ballot_manage", args=[ballot.pk])
    page = client.get(address).content.decode()
    assert "1 of 3 eligible voters have voted" in page and "33%" in page
    partial = client.get(address, HTTP_HX_REQUEST="true").content.decode()
    assert "1 of 3 eligible voters have voted" in partial
    assert "Against" not in partial and members[0].full_name not in page


def test_a_draft_ballot_is_editable_until_it_opens(client):
    a, b, c = MemberFactory.create_batch(3)
    ballot = election(candidates=[a, b], title="Board election")
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    address = reverse("governance:ballot_edit", args=[ballot.pk])
    form = client.get(address).content.decode()
    assert "Board election" in form
    now = timezone.localtime()
    data = {
        "title": "Board election 2026",
        "description": "Two seats.",
        "majority_rule": "plurality",
        "seats": 2,
        "candidates": [a.pk, b.pk, c.pk],
        "record_date": (now.date() - YESTERDAY).isoformat(),
        "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + datetime.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
        "quorum_percent": "20",
    }
    assert client.post(address, data).status_code == 302
    ballot.refresh_from_db()
    assert (ballot.title, ballot.seats, str(ballot.quorum)) == ("Board election 2026", 2, "0.200")
    assert [o.candidate for o in ballot.options.order_by("position")] == [a, b, c]
    services.ballot_open(ballot=ballot)
    with pytest.raises(ValidationError, match="Only a draft"):
        services.ballot_update(
            ballot=ballot,
            title="Changed",
            description="",
            majority_rule="plurality",
            record_date=ballot.record_date,
            opens_at=ballot.opens_at,
            closes_at=ballot.closes_at,
            seats=1,
            candidates=[a, b],
        )
    response = client.post(address, {**data, "title": "Changed"}, follow=True)
    assert "Only a draft ballot can be edited" in response.content.decode()
    ballot.refresh_from_db()
    assert ballot.title == "Board election 2026"


def test_cancelling_asks_first_then_destroys_the_uncounted_choices(client):
    member = MemberFactory()
    ballot = services.ballot_open(ballot=motion())
    vote(ballot, member, "for")
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    address = reverse("governance:ballot_cancel", args=[ballot.pk])
    confirm = client.get(address).content.decode()
    assert "destroyed without being counted" in confirm and "cannot be undone" in confirm
    ballot.refresh_from_db()
    assert ballot.status == BallotStatus.OPEN
    client.post(address)
    ballot.refresh_from_db()
    assert ballot.status == BallotStatus.CANCELLED
    assert not PendingChoice.objects.filter(ballot=ballot).exists()
    client.force_login(member.user)
    assert client.get(reverse("governance:ballot_detail", args=[ballot.pk])).status_code == 404
    with pytest.raises(ValidationError):
        services.ballot_close(ballot=ballot)


def test_the_periodic_job_moves_a_full_pool_into_the_box_and_leaves_a_short_one(settings):
    from governance import tasks

    settings.CLINIC_BALLOT_BATCH_SIZE = 3
    members = MemberFactory.create_batch(4)
    ballot = services.ballot_open(ballot=motion())
    for member in members[:2]:
        vote(ballot, member, "for")
    assert tasks.flush_ballot_boxes.delay().get() == 0  # two are fewer than a batch
    assert PendingChoice.objects.filter(ballot=ballot).count() == 2
    vote(ballot, members[2], "against")
    assert tasks.flush_ballot_boxes.delay().get() == 3
    assert not PendingChoice.objects.filter(ballot=ballot).exists()
    assert ballot.cast_ballots.count() == 3
