import pytest
from django.apps import apps
from django.utils import timezone

from governance import demo, selectors
from governance.models import Ballot, BallotStatus
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in apps.get_app_config("governance").get_models()}


def test_demo_governance_is_complete_and_idempotent(django_capture_on_commit_callbacks):
    emails = ["member@demo.coop"] + [f"member{n}@demo.coop" for n in range(2, 21)]
    for number, email in enumerate(emails, start=1):
        MemberFactory(user__email=email, number=number)
    with django_capture_on_commit_callbacks(execute=True):
        demo.seed()
    first = counts()
    with django_capture_on_commit_callbacks(execute=True):
        demo.seed()
    assert counts() == first

    upcoming = selectors.upcoming_general_meetings().get()
    assert upcoming.agenda_items.count() == len(demo.AGENDA)
    motion = Ballot.objects.get(title=demo.OPEN_MOTION)
    assert motion.status == BallotStatus.OPEN and motion.closes_at > timezone.now()
    # The demo logins have not voted yet, so they can try it.
    member = MemberFactory._meta.model.objects.get(user__email="member@demo.coop")
    standing = selectors.voter_standing(motion, member)
    assert standing.eligible and not standing.voted

    past = selectors.past_general_meetings().get()
    assert past.minutes
    election = Ballot.objects.get(title=demo.CLOSED_ELECTION)
    assert election.status == BallotStatus.CLOSED and election.results_pdf
    tally = selectors.ballot_tally(election)
    assert tally.outcome.quorum_met and len(tally.outcome.elected) == 3
    board = set(selectors.current_board().values_list("member__user__email", flat=True))
    assert "member2@demo.coop" in board and len(board) == 4
