import datetime

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
        # Admitted well before the past election's record date, so all of them may vote
        # and the demo's fixed voting pattern gives the same result every run.
        MemberFactory(user__email=email, number=number, admitted_on=datetime.date(2020, 1, 1))
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


def test_the_whole_demo_leaves_the_demo_logins_able_to_vote(
    client, django_capture_on_commit_callbacks
):
    """With the demo data governance depends on: members, and billing's fee invoices (some
    members pay late and lose good standing; the demo logins must not)."""
    from django.urls import reverse

    from billing import demo as billing_demo
    from clinic.demo import demo_user
    from clinic.roles import Role
    from members import demo as members_demo
    from members.selectors import is_in_good_standing

    # Background work (invoice and results PDFs) is left out: it has no bearing here.
    with django_capture_on_commit_callbacks():
        demo_user(
            email="admin@demo.coop",
            first_name="Ada",
            last_name="Office",
            roles=[Role.ADMINISTRATOR],
        )
        members_demo.seed()
        billing_demo.seed()
        demo.seed()
    motion = Ballot.objects.get(title=demo.OPEN_MOTION)
    Member = MemberFactory._meta.model
    for email in ("member@demo.coop", "member2@demo.coop"):
        member = Member.objects.get(user__email=email)
        assert is_in_good_standing(member)
        standing = selectors.voter_standing(motion, member)
        assert standing.eligible and not standing.voted, email
    election = Ballot.objects.get(title=demo.CLOSED_ELECTION)
    assert len(selectors.ballot_tally(election).outcome.elected) == 3
    client.force_login(Member.objects.get(user__email="member@demo.coop").user)
    page = client.get(reverse("members:my_membership")).content.decode()
    assert demo.OPEN_MOTION.replace("'", "&#x27;") in page and "You are eligible" in page
    page = client.get(reverse("governance:index")).content.decode()
    assert "Chair" in page and str(demo.UPCOMING_AGM) in page
