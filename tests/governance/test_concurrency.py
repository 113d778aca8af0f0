import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from governance import services
from governance.models import CastBallot, Participation, PendingChoice
from tests.concurrency import at_once
from tests.governance.factories import motion, option
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ATTEMPTS = 6


def test_concurrent_votes_from_several_connections_count_exactly_once():
    assert connection.vendor == "postgresql"
    member = MemberFactory()
    ballot = services.ballot_open(ballot=motion())
    choice = option(ballot, "for").pk

    def submit() -> str:
        services.vote_cast(ballot=ballot, voter=member, cast_by=member, option_ids=[choice])
        return "counted"

    outcomes = [
        " ".join(o.messages) if isinstance(o, ValidationError) else o
        for o in at_once(*[submit] * ATTEMPTS)
    ]
    assert outcomes.count("counted") == 1
    refusals = [o for o in outcomes if o != "counted"]
    assert len(refusals) == ATTEMPTS - 1
    assert all("already been recorded" in message for message in refusals)
    assert Participation.objects.filter(ballot=ballot).count() == 1
    assert PendingChoice.objects.filter(ballot=ballot).count() == 1
    services.ballot_close(ballot=ballot)
    assert CastBallot.objects.filter(ballot=ballot).count() == 1


def test_concurrent_votes_without_the_ballot_lock_still_count_once():
    """The unique constraint alone holds, even when submissions do not queue on the ballot."""
    member = MemberFactory()
    ballot = services.ballot_open(ballot=motion())

    def insert() -> str:
        with transaction.atomic():
            Participation.objects.create(ballot=ballot, voter=member, cast_by=member)
        return "inserted"

    results = [
        "refused" if isinstance(o, IntegrityError) else o for o in at_once(*[insert] * ATTEMPTS)
    ]
    assert sorted(results) == ["inserted"] + ["refused"] * (ATTEMPTS - 1)
