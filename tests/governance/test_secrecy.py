"""The secret ballot against someone who can read the database (docs/ballot-secrecy.md).

Each test plays the attacker on real PostgreSQL: members vote, then the test tries every
join a database reader could try (key order, physical order, transaction ids, times) and
reads the raw table pages with pageinspect for dead copies of rows. The receipts each
voter got back are the ground truth the attacker must not recover.
"""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from governance import services
from governance.models import BallotMark, CastBallot, Participation, PendingChoice
from tests.governance.factories import election, motion, option
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SECRET_TABLES = [m._meta.db_table for m in (PendingChoice, CastBallot, BallotMark)]


def rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def participations(ballot) -> list[tuple]:
    """(voter, id, xmin, ctid) of every participation: who voted, as the attacker sees it."""
    return rows(
        "SELECT voter_id, id, xmin::text::bigint, ctid::text FROM governance_participation "
        "WHERE ballot_id = %s",
        [ballot.pk],
    )


def box(ballot) -> list[tuple]:
    """(receipt, id, xmin, ctid) of every row in the ballot box."""
    return rows(
        "SELECT receipt, id::text, xmin::text::bigint, ctid::text FROM governance_castballot "
        "WHERE ballot_id = %s",
        [ballot.pk],
    )


def ctid_key(ctid: str) -> tuple[int, int]:
    page, item = ctid.strip("()").split(",")
    return int(page), int(item)


def pageinspect() -> None:
    """The page reader. Debian's postgresql package (which `make test` installs) ships it;
    without it the dead-tuple checks cannot run, which is a failure, not a pass."""
    available = rows("SELECT 1 FROM pg_available_extensions WHERE name = 'pageinspect'")
    if not available:
        pytest.fail("pageinspect is not installed on this PostgreSQL server (contrib)")
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")


def heap_tuples(table: str) -> list[dict]:
    """Every tuple physically in the table's pages, live or dead (pageinspect)."""
    pageinspect()
    pages = rows("SELECT pg_relation_size(%s) / current_setting('block_size')::int", [table])[0][0]
    found = []
    for page in range(pages):
        for lp, flags, xmin, xmax, data, infomask in rows(
            "SELECT lp, lp_flags, t_xmin::text::bigint, t_xmax::text::bigint, t_data, "
            "(SELECT raw_flags FROM heap_tuple_infomask_flags(t_infomask, t_infomask2)) "
            "FROM heap_page_items(get_raw_page(%s, %s))",
            [table, page],
        ):
            if flags == 1 and data is not None:  # LP_NORMAL: a stored tuple
                # An xmax that only records a row lock (the foreign-key check of a mark
                # locks its cast ballot) is not a deletion: the tuple is live.
                lock_only = "HEAP_XMAX_LOCK_ONLY" in infomask or "HEAP_XMAX_INVALID" in infomask
                found.append(
                    {
                        "lp": lp,
                        "xmin": xmin,
                        "xmax": 0 if lock_only else xmax,
                        "data": bytes(data),
                    }
                )
    return found


def raw_pages(table: str) -> bytes:
    pageinspect()
    pages = rows("SELECT pg_relation_size(%s) / current_setting('block_size')::int", [table])[0][0]
    return b"".join(
        bytes(rows("SELECT get_raw_page(%s, %s)", [table, page])[0][0]) for page in range(pages)
    )


def best_guess_by_order(voters_in_order: list[int], receipts_in_order: list[str]) -> dict:
    """The attacker's join: the n-th participation goes with the n-th box row."""
    return dict(zip(voters_in_order, receipts_in_order, strict=True))


def correct(guess: dict, truth: dict) -> int:
    return sum(guess[voter] == receipt for voter, receipt in truth.items())


def assert_no_time_columns() -> None:
    types = rows(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_name = ANY(%s) AND (data_type LIKE 'time%%' OR data_type = 'date' "
        "OR data_type LIKE 'interval%%')",
        [SECRET_TABLES],
    )
    assert types == []


def assert_no_dead_or_linked_tuples(voter_xmins: set[int]) -> None:
    for table in SECRET_TABLES:
        tuples = heap_tuples(table)
        # No deleted or superseded copy left in the pages ...
        assert [t for t in tuples if t["xmax"] != 0] == [], table
        # ... and no stored row written by a voter's transaction.
        assert {t["xmin"] for t in tuples} & voter_xmins == set(), table


def cast_votes(ballot, members, choices) -> dict[int, str]:
    return {
        member.pk: services.vote_cast(
            ballot=ballot, voter=member, cast_by=member, option_ids=[option(ballot, choice).pk]
        )
        for member, choice in zip(members, choices, strict=True)
    }


def test_after_close_nothing_stored_links_a_voter_to_a_choice(settings):
    assert connection.vendor == "postgresql"
    settings.CLINIC_BALLOT_BATCH_SIZE = 4
    members = MemberFactory.create_batch(10)
    ballot = services.ballot_open(ballot=motion())
    choices = ["for", "against", "for", "abstain", "for", "against", "for", "for", "against", "for"]
    truth = cast_votes(ballot, members, choices)
    services.ballot_close(ballot=ballot)

    voted = participations(ballot)
    stored = box(ballot)
    assert len(stored) == len(voted) == 10
    assert {receipt for receipt, *_rest in stored} == set(truth.values())
    voter_xmins = {xmin for _voter, _id, xmin, _ctid in voted}

    # Transaction ids: every box row was written by the one closing transaction.
    assert len({xmin for _r, _id, xmin, _c in stored}) == 1
    assert {xmin for _r, _id, xmin, _c in stored} & voter_xmins == set()
    marks = rows(
        "SELECT DISTINCT m.xmin::text::bigint FROM governance_ballotmark m "
        "JOIN governance_castballot c ON c.id = m.cast_ballot_id WHERE c.ballot_id = %s",
        [ballot.pk],
    )
    assert len(marks) == 1 and marks[0][0] not in voter_xmins

    # Key order and physical order: lining both sides up recovers nothing certain.
    by_id = best_guess_by_order(
        [v for v, *_ in sorted(voted, key=lambda r: r[1])],
        [r for r, *_ in sorted(stored, key=lambda r: r[1])],
    )
    by_ctid = best_guess_by_order(
        [v for v, *_ in sorted(voted, key=lambda r: ctid_key(r[3]))],
        [r for r, *_ in sorted(stored, key=lambda r: ctid_key(r[3]))],
    )
    # A random permutation matches the true one in full with probability 1/10!.
    assert correct(by_id, truth) < 10
    assert correct(by_ctid, truth) < 10

    # Times: there are none on the anonymous side to line up.
    assert_no_time_columns()

    # Dead tuples: the pool and the box's earlier copies are gone from the pages.
    assert heap_tuples("governance_pendingchoice") == []
    assert_no_dead_or_linked_tuples(voter_xmins)
    box_tuples = heap_tuples("governance_castballot")
    for receipt in truth.values():
        assert sum(receipt.encode() in t["data"] for t in box_tuples) == 1
    pool_bytes = raw_pages("governance_pendingchoice")
    assert not any(receipt.encode() in pool_bytes for receipt in truth.values())


def test_while_open_no_flushed_choice_can_be_linked_to_its_voter(settings):
    settings.CLINIC_BALLOT_BATCH_SIZE = 5
    members = MemberFactory.create_batch(11)
    ballot = services.ballot_open(ballot=motion())
    # Ten votes: each fifth one moves the pool into the box in its own transaction.
    truth = cast_votes(ballot, members[:10], ["for", "against", "abstain", "for", "for"] * 2)
    assert PendingChoice.objects.filter(ballot=ballot).count() == 0
    # The eleventh waits in the pool: a reader can link it until the next batch moves it
    # (the documented window).
    cast_votes(ballot, members[10:], ["against"])
    assert PendingChoice.objects.filter(ballot=ballot).count() == 1

    voted = [row for row in participations(ballot) if row[0] in truth]
    stored = box(ballot)
    voter_xmins = {xmin for _voter, _id, xmin, _ctid in participations(ballot)}
    assert len(stored) == 10
    # Each batch left the pool in its own transaction, which rewrote the tables: the box
    # is stamped with one transaction id, no voter's, and the batches are not told apart.
    assert len({xmin for _r, _id, xmin, _c in stored}) == 1
    assert {xmin for _r, _id, xmin, _c in stored} & voter_xmins == set()
    # Key and physical order tell nothing either. Full recovery by chance: 1 in 10!.
    by_id = best_guess_by_order(
        [v for v, *_ in sorted(voted, key=lambda r: r[1])],
        [r for r, *_ in sorted(stored, key=lambda r: r[1])],
    )
    by_ctid = best_guess_by_order(
        [v for v, *_ in sorted(voted, key=lambda r: ctid_key(r[3]))],
        [r for r, *_ in sorted(stored, key=lambda r: ctid_key(r[3]))],
    )
    assert correct(by_id, truth) < 10 and correct(by_ctid, truth) < 10

    # No dead copy of a moved choice is left in the pool's or the box's pages.
    flushed = [receipt.encode() for receipt in truth.values()]
    pool = heap_tuples("governance_pendingchoice")
    assert len(pool) == 1 and all(t["xmax"] == 0 for t in pool)
    assert not any(r in t["data"] for t in pool for r in flushed)
    for table in ("governance_castballot", "governance_ballotmark"):
        tuples = heap_tuples(table)
        assert [t for t in tuples if t["xmax"] != 0] == [], table
        assert {t["xmin"] for t in tuples} & voter_xmins == set(), table


def test_concurrent_votes_and_batches_count_each_participation_exactly_once(settings):
    settings.CLINIC_BALLOT_BATCH_SIZE = 3
    candidates = MemberFactory.create_batch(3)
    voters = MemberFactory.create_batch(9)
    ballot = services.ballot_open(ballot=election(candidates=candidates, seats=2))
    options = [o.pk for o in ballot.options.order_by("position")]
    barrier = threading.Barrier(len(voters) * 2)
    receipts: list[str] = []
    refused: list[str] = []
    lock = threading.Lock()

    def submit(index: int, member) -> None:
        from django.db import connection as thread_connection

        chosen = [options[index % 3]] if index % 2 else [options[0], options[2]]
        try:
            barrier.wait(timeout=10)
            receipt = services.vote_cast(
                ballot=ballot, voter=member, cast_by=member, option_ids=chosen
            )
            with lock:
                receipts.append(receipt)
        except ValidationError as error:
            with lock:
                refused.append(" ".join(error.messages))
        finally:
            thread_connection.close()

    # Every voter submits twice at once; batches flush as the pool fills (eager tasks).
    threads = [
        threading.Thread(target=submit, args=(i, member))
        for i, member in enumerate(voters)
        for _twice in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(receipts) == 9 and len(refused) == 9
    assert all("already been recorded" in message for message in refused)
    services.ballot_close(ballot=ballot)

    assert Participation.objects.filter(ballot=ballot).count() == 9
    assert not PendingChoice.objects.filter(ballot=ballot).exists()
    assert sorted(CastBallot.objects.filter(ballot=ballot).values_list("receipt", flat=True)) == (
        sorted(receipts)
    )
    tally = services_tally(ballot)
    # Voters at even positions marked two candidates, the others one.
    assert sum(c.votes for c in tally.counts) == 5 * 2 + 4 * 1
    assert tally.ballots_cast == 9
    assert BallotMark.objects.filter(cast_ballot__ballot=ballot).count() == 14


def services_tally(ballot):
    from governance.selectors import ballot_tally

    return ballot_tally(ballot)
