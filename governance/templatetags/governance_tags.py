from django import template

from governance import selectors
from governance.models import BallotStatus

register = template.Library()


@register.inclusion_tag("governance/_my_ballots.html")
def my_ballots(member) -> dict:
    """Open ballots on a member's home page, with whether they may and did vote."""
    return {"open_ballots": list(selectors.ballots_for_member(member, status=BallotStatus.OPEN))}
