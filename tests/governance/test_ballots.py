import datetime
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection
from django.db.models import DateField, DateTimeField, ForeignKey, UUIDField
from django.utils import timezone

from governance import selectors, services
from governance.models import (
    BallotMark,
    BallotStatus,
    BoardTerm,
    CastBallot,
    EligibleVoter,
    Participation,
    PendingChoice,
)
from members.models import MemberStatus
from tests.governance.factories import election, motion, option
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db


def vote(ballot, member, *choices, cast_by=None):
    return services.vote_cast(
        ballot=ballot,
        voter=member,
        cast_by=cast_by or member,
        option_ids=[option(ballot, c).pk for c in choices],
    )


def open_motion(members, **kwargs):
    ballot = motion(**kwargs)
    return services.ballot_open(ballot=ballot)


# --- Eligibility ------------------------------------------------------------------------


def test_eligible_voters_are_members_in_good_standing_on_the_record_date():
    record_date = timezone.localdate() - datetime.timedelta(days=10)
    old = MemberFactory(admitted_on=record_date - datetime.timedelta(days=100))
    admitted_after = MemberFactory(admitted_on=record_date + datetime.timedelta(days=2))
    lapsed = MemberFactory(
        admitted_on=record_date - datetime.timedelta(days=100), status=MemberStatus.LAPSED
    )
    ballot = services.ballot_open(ballot=motion(record_date=record_date))
    eligible = set(EligibleVoter.objects.filter(ballot=ballot).values_list("member", flat=True))
    assert eligible == {old.pk}
    assert ballot.eligible_count == 1
    assert selectors.voter_standing(ballot, old).eligible
    assert not selectors.voter_standing(ballot, admitted_after).eligible
    with pytest.raises(ValidationError, match="not on the list of eligible voters"):
        vote(ballot, lapsed, "for")


def test_the_list_of_voters_is_fixed_when_the_ballot_opens():
    MemberFactory(admitted_on=timezone.localdate() - datetime.timedelta(days=30))
    ballot = services.ballot_open(ballot=motion())
    late = MemberFactory(admitted_on=timezone.localdate())
    assert ballot.eligible_count == 1
    with pytest.raises(ValidationError, match="not on the list"):
        vote(ballot, late, "for")


def test_record_date_after_opening_is_refused():
    with pytest.raises(ValidationError, match="record date"):
        motion(record_date=timezone.localdate() + datetime.timedelta(days=3))


# --- Status transitions ---------------------------------------------------------------


def test_ballot_moves_draft_open_closed_and_refuses_other_moves():
    ballot = motion()
    assert ballot.status == BallotStatus.DRAFT
    with pytest.raises(ValidationError, match="draft cannot become closed"):
        services.ballot_close(ballot=ballot)
    services.ballot_open(ballot=ballot)
    with pytest.raises(ValidationError, match="open cannot become open"):
        services.ballot_open(ballot=ballot)
    services.ballot_close(ballot=ballot)
    ballot.refresh_from_db()
    assert ballot.status == BallotStatus.CLOSED
    with pytest.raises(ValidationError, match="closed cannot become open"):
        services.ballot_open(ballot=ballot)


def test_no_vote_before_opening_after_closing_time_or_after_close():
    member = MemberFactory()
    ballot = motion()
    with pytest.raises(ValidationError, match="not open"):
        vote(ballot, member, "for")
    ballot = services.ballot_open(ballot=ballot)
    ballot.closes_at = timezone.now() - datetime.timedelta(seconds=1)
    ballot.opens_at = ballot.closes_at - datetime.timedelta(days=1)
    ballot.save()
    with pytest.raises(ValidationError, match="not open"):
        vote(ballot, member, "for")
    assert services.ballots_open_and_close_due() == (0, 1)
    ballot.refresh_from_db()
    assert ballot.status == BallotStatus.CLOSED


def test_periodic_job_opens_ballots_whose_time_has_come():
    MemberFactory()
    ballot = motion()
    assert services.ballots_open_and_close_due() == (1, 0)
    ballot.refresh_from_db()
    assert ballot.status == BallotStatus.OPEN and ballot.eligible_count == 1


def test_the_beat_schedule_runs_the_ballot_job_every_minute(settings):
    from clinic.celery import app
    from governance import tasks

    entries = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == tasks.open_and_close_due_ballots.name
    ]
    assert len(entries) == 1 and entries[0]["schedule"] <= 60
    assert entries[0]["task"] in app.tasks
    MemberFactory()
    due = motion()
    # The scheduled task itself (as beat sends it, by name) opens the ballot.
    assert tuple(app.tasks[entries[0]["task"]].delay().get()) == (1, 0)
    due.refresh_from_db()
    assert due.status == BallotStatus.OPEN


# --- One member, one vote ----------------------------------------------------------------


def test_a_second_vote_by_the_same_member_is_refused_and_not_counted():
    member, other = MemberFactory.create_batch(2)
    ballot = open_motion([member, other])
    vote(ballot, member, "for")
    with pytest.raises(ValidationError, match="already been recorded"):
        vote(ballot, member, "against")
    assert Participation.objects.filter(ballot=ballot).count() == 1
    assert PendingChoice.objects.filter(ballot=ballot).count() == 1
    services.ballot_close(ballot=ballot)
    assert CastBallot.objects.filter(ballot=ballot).count() == 1
    tally = selectors.ballot_tally(ballot)
    assert {c.motion_choice: c.votes for c in tally.counts} == {
        "for": 1,
        "against": 0,
        "abstain": 0,
    }


def test_the_database_refuses_a_second_participation_row():
    member = MemberFactory()
    ballot = open_motion([member])
    vote(ballot, member, "for")
    with pytest.raises(IntegrityError):
        Participation.objects.create(ballot=ballot, voter=member, cast_by=member)


def test_a_motion_takes_exactly_one_choice_and_an_election_at_most_k():
    a, b, c = MemberFactory.create_batch(3)
    ballot = open_motion([a])
    with pytest.raises(ValidationError, match="exactly one"):
        vote(ballot, a, "for", "against")
    poll = services.ballot_open(ballot=election(candidates=[a, b, c], seats=2))
    with pytest.raises(ValidationError, match="at most 2"):
        vote(poll, a, a.full_name, b.full_name, c.full_name)
    other_ballot = open_motion([a])
    with pytest.raises(ValidationError, match="Choose one of the options"):
        services.vote_cast(
            ballot=poll,
            voter=a,
            cast_by=a,
            option_ids=[option(other_ballot, "for").pk],
        )
    assert not Participation.objects.filter(voter=a).exists()


# --- Secrecy ----------------------------------------------------------------------------


def test_the_schema_has_no_path_from_who_voted_to_what_was_chosen():
    anonymous = [PendingChoice, CastBallot, BallotMark]
    for model in anonymous:
        fields = model._meta.get_fields()
        assert isinstance(model._meta.pk, UUIDField), model
        # No time at all on the anonymous side: nothing to line up with anything else.
        assert not [f for f in fields if isinstance(f, DateField | DateTimeField)], model
        related = {f.related_model for f in fields if f.is_relation}
        assert not related & {Participation, EligibleVoter}, model
        assert all(
            "member" not in f.name and "voter" not in f.name and "user" not in f.name
            for f in fields
        )
    participation_fields = Participation._meta.get_fields()
    assert {f.name for f in participation_fields} == {"id", "ballot", "voter", "cast_by"}
    assert not any(
        f.is_relation and f.related_model in (PendingChoice, CastBallot, BallotMark)
        for f in participation_fields
    )
    # The only table both sides reference is the ballot itself, shared by every voter.
    cast_targets = {
        f.related_model for f in CastBallot._meta.get_fields() if isinstance(f, ForeignKey)
    }
    participation_targets = {
        f.related_model for f in participation_fields if isinstance(f, ForeignKey)
    }
    assert (cast_targets & participation_targets) == {participation_fields[1].related_model}


def test_stored_rows_share_no_value_that_could_link_a_voter_to_a_choice():
    members = MemberFactory.create_batch(3)
    ballot = open_motion(members)
    receipts = [vote(ballot, m, c) for m, c in zip(members, ["for", "against", "for"], strict=True)]
    participation_values = set()
    for row in Participation.objects.filter(ballot=ballot).values():
        participation_values |= {v for k, v in row.items() if k != "ballot_id"}
    pooled_values = set()
    for row in PendingChoice.objects.filter(ballot=ballot).values():
        pooled_values |= {v for k, v in row.items() if k not in ("ballot_id", "option_ids")}
    assert not participation_values & pooled_values
    services.ballot_close(ballot=ballot)
    anonymous_values = set()
    for row in CastBallot.objects.filter(ballot=ballot).values():
        anonymous_values |= {v for k, v in row.items() if k != "ballot_id"}
    for row in BallotMark.objects.filter(cast_ballot__ballot=ballot).values():
        anonymous_values |= {v for k, v in row.items() if k not in ("option_id",)}
    assert not participation_values & anonymous_values
    assert all(isinstance(v, uuid.UUID | str) for v in anonymous_values)
    assert set(receipts) == set(CastBallot.objects.values_list("receipt", flat=True))
    # Receipts are random, and listing them gives no hint of the order of voting.
    assert len(set(receipts)) == 3
    assert [c.receipt for c in CastBallot.objects.filter(ballot=ballot)] == sorted(receipts)


def test_closing_moves_every_choice_into_the_box_unchanged_in_one_transaction(settings):
    settings.CLINIC_BALLOT_BATCH_SIZE = 2
    members = MemberFactory.create_batch(5)
    ballot = open_motion(members)
    choices = ["for", "against", "for", "abstain", "against"]
    receipts = [vote(ballot, m, c) for m, c in zip(members, choices, strict=True)]
    # Batches of two leave the box in their own transactions (tasks.flush_ballot_box).
    assert services.ballot_box_flush(ballot_id=ballot.pk) == 5
    assert services.ballot_box_flush(ballot_id=ballot.pk) == 0  # nothing left to move
    services.ballot_close(ballot=ballot)
    stored = sorted(
        BallotMark.objects.filter(cast_ballot__ballot=ballot).values_list(
            "cast_ballot__receipt", "option__motion_choice"
        )
    )
    assert stored == sorted(zip(receipts, choices, strict=True))
    assert not PendingChoice.objects.filter(ballot=ballot).exists()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT c.xmin::text FROM governance_castballot c WHERE c.ballot_id = %s",
            [ballot.pk],
        )
        assert len(cursor.fetchall()) == 1  # afterwards, nothing tells the votes apart


# --- Results ----------------------------------------------------------------------------


def test_results_are_hidden_until_the_ballot_closes():
    member = MemberFactory()
    ballot = open_motion([member])
    vote(ballot, member, "for")
    assert not selectors.ballots_for_user(member.user).filter(
        pk=ballot.pk, status=BallotStatus.CLOSED
    )
    from django.http import Http404

    with pytest.raises(Http404):
        selectors.closed_ballot_for_user(member.user, ballot.pk)
    services.ballot_close(ballot=ballot)
    assert selectors.closed_ballot_for_user(member.user, ballot.pk) == ballot


def test_ten_thousand_ballots_are_tallied_in_one_query(django_assert_num_queries):
    ballot = motion(quorum=0)
    for_, against, abstain = (option(ballot, c) for c in ("for", "against", "abstain"))
    casts = [CastBallot(ballot=ballot, receipt=f"R{i:06d}") for i in range(10_000)]
    CastBallot.objects.bulk_create(casts, batch_size=2000)
    chosen = [for_] * 6000 + [against] * 3000 + [abstain] * 1000
    BallotMark.objects.bulk_create(
        [BallotMark(cast_ballot=c, option=o) for c, o in zip(casts, chosen, strict=True)],
        batch_size=2000,
    )
    ballot.eligible_count = 12_000
    with django_assert_num_queries(1):
        tally = selectors.ballot_tally(ballot)
    assert tally.ballots_cast == 10_000
    assert [c.votes for c in tally.counts] == [6000, 3000, 1000]
    assert tally.outcome.carried


@pytest.mark.parametrize(
    ("votes", "rule", "quorum", "carried", "quorum_met"),
    [
        (["for", "for", "against"], "simple", "0.5", True, True),
        (["for", "against"], "simple", "0.3", False, True),  # tie: not carried
        (["for", "against", "abstain", "abstain"], "simple", "0.5", False, True),
        (["for", "for", "against"], "two_thirds", "0.5", True, True),  # exactly 2/3
        (["for", "for", "against", "against"], "two_thirds", "0.5", False, True),
        (["for", "for", "for", "against", "abstain"], "two_thirds", "0.5", True, True),
        (["for"], "simple", "0.5", False, False),  # 1 of 6 eligible: no quorum
    ],
)
def test_quorum_and_majority_rules(votes, rule, quorum, carried, quorum_met):
    from decimal import Decimal

    members = MemberFactory.create_batch(6)
    ballot = services.ballot_open(ballot=motion(rule=rule, quorum=Decimal(quorum)))
    for member, choice in zip(members[: len(votes)], votes, strict=True):
        vote(ballot, member, choice)
    services.ballot_close(ballot=ballot)
    tally = selectors.ballot_tally(ballot)
    assert tally.ballots_cast == len(votes)
    assert tally.outcome.quorum_met is quorum_met
    assert bool(tally.outcome.carried) is carried
    if votes == ["for", "against"]:
        assert "Tied" in tally.outcome.summary


def test_quorum_is_exact_at_the_boundary():
    from decimal import Decimal

    from governance.rules import quorum_met

    assert quorum_met(ballots_cast=1, eligible=10, quorum=Decimal("0.10"))
    assert not quorum_met(ballots_cast=0, eligible=10, quorum=Decimal("0.10"))
    assert not quorum_met(ballots_cast=2, eligible=21, quorum=Decimal("0.10"))
    assert not quorum_met(ballots_cast=0, eligible=0, quorum=Decimal("0"))


def test_election_elects_the_k_with_most_votes_and_reports_a_tie_for_the_last_seat():
    from decimal import Decimal

    voters = MemberFactory.create_batch(6)
    a, b, c, d = voters[:4]
    poll = services.ballot_open(
        ballot=election(candidates=[a, b, c, d], seats=2, quorum=Decimal("0.5"))
    )
    names = {m: m.full_name for m in voters}
    vote(poll, voters[0], names[a], names[b])
    vote(poll, voters[1], names[a], names[c])
    vote(poll, voters[2], names[a], names[b])
    vote(poll, voters[3], names[c])
    services.ballot_close(ballot=poll)
    outcome = selectors.ballot_tally(poll).outcome
    assert [x.label for x in outcome.elected] == [names[a]]
    assert {x.label for x in outcome.tied} == {names[b], names[c]}
    assert not outcome.decided
    with pytest.raises(ValidationError, match="tied"):
        services.board_apply_election(
            ballot=poll,
            role="director",
            starts_on=timezone.localdate(),
            ends_on=timezone.localdate() + datetime.timedelta(days=730),
        )


def test_applying_an_election_creates_board_terms_once():
    from decimal import Decimal

    voters = MemberFactory.create_batch(4)
    a, b, c = voters[:3]
    poll = services.ballot_open(
        ballot=election(candidates=[a, b, c], seats=2, quorum=Decimal("0.5"))
    )
    for voter in voters[:3]:
        vote(poll, voter, a.full_name, b.full_name)
    vote(poll, voters[3], c.full_name)
    with pytest.raises(ValidationError, match="closed election"):
        services.board_apply_election(
            ballot=poll,
            role="director",
            starts_on=timezone.localdate(),
            ends_on=timezone.localdate() + datetime.timedelta(days=730),
        )
    services.ballot_close(ballot=poll)
    terms = services.board_apply_election(
        ballot=poll,
        role="director",
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate() + datetime.timedelta(days=730),
    )
    assert {t.member for t in terms} == {a, b}
    assert set(selectors.current_board().values_list("member", flat=True)) == {a.pk, b.pk}
    with pytest.raises(ValidationError, match="already been applied"):
        services.board_apply_election(
            ballot=poll,
            role="director",
            starts_on=timezone.localdate(),
            ends_on=timezone.localdate() + datetime.timedelta(days=730),
        )
    assert BoardTerm.objects.count() == 2


# --- Proxies ----------------------------------------------------------------------------


def test_a_proxy_votes_for_the_member_who_appointed_them_and_each_counts_once(settings):
    grantor, proxy = MemberFactory.create_batch(2)
    ballot = services.ballot_open(ballot=motion(allow_proxies=True))
    services.proxy_appoint(ballot=ballot, grantor=grantor, proxy=proxy)
    vote(ballot, grantor, "against", cast_by=proxy)
    vote(ballot, proxy, "for")
    with pytest.raises(ValidationError, match="already been recorded"):
        vote(ballot, grantor, "for")
    with pytest.raises(ValidationError, match="already been recorded"):
        vote(ballot, grantor, "for", cast_by=proxy)
    participation = Participation.objects.get(ballot=ballot, voter=grantor)
    assert participation.cast_by == proxy
    assert selectors.voter_standing(ballot, grantor).voted_by_proxy
    services.ballot_close(ballot=ballot)
    assert CastBallot.objects.filter(ballot=ballot).count() == 2
    assert selectors.ballot_tally(ballot).ballots_cast == 2


def test_nobody_votes_for_another_member_without_their_proxy():
    grantor, stranger = MemberFactory.create_batch(2)
    ballot = services.ballot_open(ballot=motion(allow_proxies=True))
    with pytest.raises(ValidationError, match="do not hold"):
        vote(ballot, grantor, "for", cast_by=stranger)
    no_proxies = services.ballot_open(ballot=motion())
    with pytest.raises(ValidationError, match="does not allow proxy"):
        services.proxy_appoint(ballot=no_proxies, grantor=grantor, proxy=stranger)


def test_a_member_holds_no_more_proxies_than_the_limit(settings):
    settings.CLINIC_PROXY_LIMIT = 2
    proxy, *grantors = MemberFactory.create_batch(4)
    ballot = services.ballot_open(ballot=motion(allow_proxies=True))
    services.proxy_appoint(ballot=ballot, grantor=grantors[0], proxy=proxy)
    services.proxy_appoint(ballot=ballot, grantor=grantors[1], proxy=proxy)
    with pytest.raises(ValidationError, match=r"most proxies allowed \(2\)"):
        services.proxy_appoint(ballot=ballot, grantor=grantors[2], proxy=proxy)
    with pytest.raises(ValidationError, match="another member"):
        services.proxy_appoint(ballot=ballot, grantor=proxy, proxy=proxy)


def test_proxy_must_be_eligible_and_grantor_must_not_have_voted():
    grantor, other = MemberFactory.create_batch(2)
    ballot = services.ballot_open(ballot=motion(allow_proxies=True))
    newcomer = MemberFactory(admitted_on=timezone.localdate())
    with pytest.raises(ValidationError, match="must be an eligible voter"):
        services.proxy_appoint(ballot=ballot, grantor=grantor, proxy=newcomer)
    vote(ballot, grantor, "for")
    with pytest.raises(ValidationError, match="already voted"):
        services.proxy_appoint(ballot=ballot, grantor=grantor, proxy=other)


def test_connection_is_postgresql_for_the_constraint_tests():
    # The concurrency test relies on PostgreSQL's unique index under real concurrency.
    assert connection.vendor == "postgresql"
