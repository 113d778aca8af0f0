import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from governance import services
from governance.models import CastBallot, Participation, PendingChoice
from tests.governance.factories import motion, option
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ATTEMPTS = 6


def test_concurrent_votes_from_several_connections_count_exactly_once():
    assert connection.vendor == "postgresql"
    member = MemberFactory()
    ballot = services.ballot_open(ballot=motion())
    choice = option(ballot, "for").pk
    barrier = threading.Barrier(ATTEMPTS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def submit() -> None:
        from django.db import connection as thread_connection

        try:
            barrier.wait(timeout=10)
            services.vote_cast(ballot=ballot, voter=member, cast_by=member, option_ids=[choice])
            result = "counted"
        except ValidationError as error:
            result = " ".join(error.messages)
        finally:
            thread_connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=submit) for _ in range(ATTEMPTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
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
    barrier = threading.Barrier(ATTEMPTS)
    results: list[str] = []
    lock = threading.Lock()

    def insert() -> None:
        from django.db import IntegrityError, transaction
        from django.db import connection as thread_connection

        try:
            barrier.wait(timeout=10)
            with transaction.atomic():
                Participation.objects.create(ballot=ballot, voter=member, cast_by=member)
            result = "inserted"
        except IntegrityError:
            result = "refused"
        finally:
            thread_connection.close()
        with lock:
            results.append(result)

    threads = [threading.Thread(target=insert) for _ in range(ATTEMPTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == ["inserted"] + ["refused"] * (ATTEMPTS - 1)
