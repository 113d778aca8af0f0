"""The ORM guards the ballot box as PostgreSQL's triggers do (issue 11), so the embedded
SQLite demo keeps the same rule: the pool, the cast ballots and their marks are never
updated, and deleted only inside the secrecy design's own rewrite
(``ballot_box_rewrite_allowed`` until ``ballot_tables_rewrite`` ends it, or the
transaction or savepoint that allowed it is rolled back).

The test database is PostgreSQL; these tests exercise the ORM guard itself, which refuses
before any SQL is sent."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from governance import services
from governance.models import BallotMark, CastBallot, PendingChoice
from tests.governance.factories import motion, option

pytestmark = pytest.mark.django_db


@pytest.fixture
def box():
    ballot = motion()
    pending = PendingChoice.objects.create(
        ballot=ballot, receipt="PENDING1", option_ids=[option(ballot, "for").pk]
    )
    cast = CastBallot.objects.create(ballot=ballot, receipt="CAST1")
    mark = BallotMark.objects.create(cast_ballot=cast, option=option(ballot, "for"))
    return {"pending": pending, "cast": cast, "mark": mark, "ballot": ballot}


def _rows() -> tuple:
    return (
        sorted(PendingChoice.objects.values_list("receipt", "option_ids")),
        sorted(CastBallot.objects.values_list("receipt", flat=True)),
        sorted(BallotMark.objects.values_list("cast_ballot__receipt", "option_id")),
    )


def test_the_orm_refuses_to_update_the_pool_the_box_or_a_mark(box):
    before = _rows()
    with pytest.raises(ValidationError, match="UPDATE"):
        PendingChoice.objects.filter(pk=box["pending"].pk).update(receipt="FORGED")
    with pytest.raises(ValidationError, match="UPDATE"):
        CastBallot.objects.all().update(receipt="FORGED")
    with pytest.raises(ValidationError, match="UPDATE"):
        BallotMark.objects.all().update(option=option(box["ballot"], "against"))
    box["cast"].receipt = "FORGED"
    with pytest.raises(ValidationError, match="UPDATE"):
        box["cast"].save()
    box["mark"].option = option(box["ballot"], "against")
    with pytest.raises(ValidationError, match="UPDATE"):
        box["mark"].save()
    # Not even inside the rewrite: the rewrite deletes and re-inserts, it never updates.
    with transaction.atomic():
        services.ballot_box_rewrite_allowed()
        with pytest.raises(ValidationError, match="UPDATE"):
            CastBallot.objects.all().update(receipt="FORGED")
    assert _rows() == before


def test_the_orm_refuses_to_delete_from_the_box_outside_its_rewrite(box):
    before = _rows()
    for model in (PendingChoice, CastBallot, BallotMark):
        with pytest.raises(ValidationError, match="DELETE"):
            model.objects.all().delete()
    for row in (box["pending"], box["cast"], box["mark"]):
        with pytest.raises(ValidationError, match="DELETE"):
            row.delete()
    assert _rows() == before


def test_the_rewrite_may_delete_until_it_ends(box):
    with transaction.atomic():
        services.ballot_box_rewrite_allowed()
        PendingChoice.objects.filter(pk=box["pending"].pk).delete()
        services.ballot_tables_rewrite()
        # The rewrite is over: the rest of the transaction may not delete from the box.
        with pytest.raises(ValidationError, match="DELETE"):
            CastBallot.objects.all().delete()
    assert _rows()[0] == []
    assert _rows()[1] == ["CAST1"]


def test_a_rolled_back_rewrite_leaves_nothing_allowed(box):
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            services.ballot_box_rewrite_allowed()
            raise RuntimeError("the rewrite failed")
        # As PostgreSQL's SET LOCAL, the permission went with the rolled-back savepoint.
        with pytest.raises(ValidationError, match="DELETE"):
            BallotMark.objects.all().delete()
    assert len(_rows()[2]) == 1


def test_closing_and_cancelling_still_rewrite_the_box():
    # The secrecy design's own paths go through the guard: close and cancel succeed.
    closed, cancelled = motion(), motion()
    services.ballot_cancel(ballot=cancelled)
    assert CastBallot.objects.filter(ballot=cancelled).count() == 0
    services.ballot_open(ballot=closed)
    services.ballot_close(ballot=closed)
    closed.refresh_from_db()
    assert closed.status == "closed"
