import pytest
from django.urls import reverse

from governance import services
from tests.governance.factories import election
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db


def test_an_election_says_how_many_of_how_many_candidates_to_choose(client):
    ballot = services.ballot_open(
        ballot=election(candidates=MemberFactory.create_batch(5), seats=2)
    )
    client.force_login(MemberFactory().user)
    for name in ("governance:ballot_detail", "governance:ballot_vote"):
        page = client.get(reverse(name, args=[ballot.pk])).content.decode()
        assert "choose up to 2 of 5 candidates" in page, name
