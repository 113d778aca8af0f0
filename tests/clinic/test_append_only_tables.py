# The SQL is built from the models' own table names, never from input.
# ruff: noqa: S608
"""Append-only below the ORM (issue 11): raw SQL cannot rewrite the records people rely on.

Each table is tried with raw UPDATE, DELETE and TRUNCATE on PostgreSQL; the ORM refuses the
same (the guard the SQLite demo relies on). The ballot box accepts DELETE and TRUNCATE only
inside its own rewrite (docs/ballot-secrecy.md), and only until that rewrite is done.
"""

import datetime
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from arcs.models import AccessLogEntry, ArcReview, ArcVersion, Measurement, ProgressNote
from careteam.models import ConsultationRequest, ConsultationStatus
from governance import services as governance
from governance.models import (
    BallotMark,
    BoardTerm,
    CastBallot,
    EligibleVoter,
    Participation,
    PendingChoice,
)
from tests.arcs.factories import ArcFactory, discipline, measure
from tests.careteam.factories import PractitionerFactory
from tests.factories import UserFactory
from tests.governance.factories import motion, option
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db

APPEND_ONLY = [
    EligibleVoter,
    Participation,
    BoardTerm,
    ArcVersion,
    ProgressNote,
    AccessLogEntry,
    Measurement,
    ArcReview,
]
BALLOT_BOX = [PendingChoice, CastBallot, BallotMark]


def refused(sql: str, params=()) -> str:
    """Run one statement in a savepoint; return the database's refusal (fails if none)."""
    with (
        pytest.raises(DatabaseError) as caught,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        # TRUNCATE would otherwise stop at this test transaction's deferred foreign-key
        # checks before reaching the trigger under test.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(sql, params)
    return str(caught.value)


def accepted(sql: str, params=()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def change_key(model) -> str:
    """An UPDATE that changes a row for real (a no-op UPDATE changes nothing to refuse)."""
    uuid_key = model._meta.pk.get_internal_type() == "UUIDField"
    return "id = gen_random_uuid()" if uuid_key else "id = id + 1000000"


@pytest.fixture
def records():
    """One row of every protected table, written the ordinary way."""
    voter = MemberFactory()
    ballot = governance.ballot_open(ballot=motion())
    governance.vote_cast(
        ballot=ballot, voter=voter, cast_by=voter, option_ids=[option(ballot, "for").pk]
    )
    closed = governance.ballot_open(ballot=motion(title="Adopt the budget"))
    governance.vote_cast(
        ballot=closed, voter=voter, cast_by=voter, option_ids=[option(closed, "for").pk]
    )
    governance.ballot_close(ballot=closed)
    governance.board_term_add(
        member=voter,
        role="director",
        starts_on=datetime.date(2026, 1, 1),
        ends_on=datetime.date(2028, 1, 1),
    )
    arc = ArcFactory()
    user = UserFactory()
    ArcVersion.objects.create(arc=arc, number=1, snapshot={}, summary="Created", changed_by=user)
    ProgressNote.objects.create(
        arc=arc, author=user, text="Walked to the gate.", visibility="shared"
    )
    AccessLogEntry.objects.create(user=user, member=arc.member, action="view", record_type="arc")
    Measurement.objects.create(
        arc=arc,
        measure=measure(),
        value=4,
        measured_on=datetime.date(2026, 1, 5),
        recorded_by=user,
    )
    ArcReview.objects.create(
        arc=arc,
        held_on=datetime.date(2026, 1, 5),
        notes="Walking further.",
        outcome="continue",
        recorded_by=user,
    )
    consultation = ConsultationRequest.objects.create(
        arc=arc,
        requested_by=PractitionerFactory(),
        to_discipline=discipline(),
        question="Is the knee ready for stairs?",
    )
    for model in APPEND_ONLY + BALLOT_BOX:
        assert model.objects.exists(), model
    return {"ballot": ballot, "closed": closed, "consultation": consultation}


@pytest.mark.parametrize("model", APPEND_ONLY + BALLOT_BOX, ids=lambda m: m.__name__)
def test_raw_sql_cannot_update_delete_or_truncate(records, model):
    table = model._meta.db_table
    rows = model.objects.count()
    assert "refused" in refused(f"DELETE FROM {table}")
    assert re.search(
        "only nothing may change|refused", refused(f"UPDATE {table} SET {change_key(model)}")
    )
    assert "refused" in refused(f"TRUNCATE {table} CASCADE")
    assert model.objects.count() == rows


@pytest.mark.parametrize("model", APPEND_ONLY, ids=lambda m: m.__name__)
def test_the_orm_refuses_changes_and_deletes(records, model):
    row = model.objects.first()
    with pytest.raises(ValidationError):
        model.objects.filter(pk=row.pk).update(id=row.pk)
    with pytest.raises(ValidationError):
        model.objects.filter(pk=row.pk).delete()
    with pytest.raises(ValidationError):
        row.delete()
    with pytest.raises(ValidationError):
        row.save()
    assert model.objects.filter(pk=row.pk).exists()


def test_the_ballot_box_is_rewritten_only_inside_its_own_transaction_setting(records):
    # The design's own paths still work: a close moves the pool into the box and rewrites.
    ballot = records["ballot"]
    governance.ballot_close(ballot=ballot)
    assert CastBallot.objects.filter(ballot=ballot).count() == 1
    assert not PendingChoice.objects.filter(ballot=ballot).exists()
    # The rewrite switched its exception off again: the rest of the transaction cannot
    # delete what it just wrote.
    assert "refused" in refused("DELETE FROM governance_ballotmark")
    assert "refused" in refused("TRUNCATE governance_castballot CASCADE")
    # Only the setting lets DELETE through, and never UPDATE.
    with transaction.atomic():
        accepted("SET LOCAL clinic.ballot_box_rewrite = 'on'")
        assert "refused" in refused(f"UPDATE governance_castballot SET {change_key(CastBallot)}")
        assert accepted("DELETE FROM governance_ballotmark") >= 2


def test_a_consultation_moves_through_its_workflow_but_its_question_and_answer_stay(records):
    consultation = records["consultation"]
    table = ConsultationRequest._meta.db_table
    assert "only its status" in refused(
        f"UPDATE {table} SET question = 'Something else' WHERE id = %s", [consultation.pk]
    )
    answered_by = PractitionerFactory()
    assert (
        accepted(
            f"UPDATE {table} SET status = 'answered', answer = 'Yes, with a rail.', "
            "answered_by_id = %s, answered_at = now() WHERE id = %s",
            [answered_by.pk, consultation.pk],
        )
        == 1
    )
    assert "never changes" in refused(
        f"UPDATE {table} SET answer = 'No.' WHERE id = %s", [consultation.pk]
    )
    assert "never changes" in refused(
        f"UPDATE {table} SET answer = '' WHERE id = %s", [consultation.pk]
    )
    assert "never changes" in refused(
        f"UPDATE {table} SET answered_by_id = %s WHERE id = %s",
        [PractitionerFactory().pk, consultation.pk],
    )
    assert (
        accepted(
            f"UPDATE {table} SET status = 'closed', closed_at = now() WHERE id = %s",
            [consultation.pk],
        )
        == 1
    )
    consultation.refresh_from_db()
    assert (consultation.status, consultation.answer) == (
        ConsultationStatus.CLOSED,
        "Yes, with a rail.",
    )
    # The ORM keeps to the same workflow columns.
    consultation.question = "Rewritten"
    with pytest.raises(ValidationError):
        consultation.save()
    with pytest.raises(ValidationError):
        ConsultationRequest.objects.filter(pk=consultation.pk).update(question="Rewritten")
    ConsultationRequest.objects.filter(pk=consultation.pk).update(closed_at=timezone.now())
