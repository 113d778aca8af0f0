"""The cooperative's vote rules as pure functions: quorum and majority from counts."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from governance.models import MajorityRule


@dataclass(frozen=True)
class OptionCount:
    option_id: int
    label: str
    votes: int
    motion_choice: str = ""
    candidate_id: int | None = None


@dataclass(frozen=True)
class Outcome:
    quorum_met: bool
    decided: bool
    carried: bool | None  # motions only
    elected: list[OptionCount] = field(default_factory=list)  # elections only
    tied: list[OptionCount] = field(default_factory=list)
    summary: str = ""


def quorum_met(*, ballots_cast: int, eligible: int, quorum: Decimal) -> bool:
    """Participation reaches the quorum share of eligible voters (exact, no float)."""
    if eligible == 0:
        return False
    return Decimal(ballots_cast) >= quorum * Decimal(eligible)


def motion_outcome(*, votes_for: int, votes_against: int, rule: str) -> tuple[bool, bool, str]:
    """(carried, tied, summary). Abstentions count for quorum, not for the majority."""
    decisive = votes_for + votes_against
    if decisive == 0:
        return False, False, str(_("No votes for or against: the motion is not carried."))
    if rule == MajorityRule.TWO_THIRDS:
        # At least two thirds of the votes for or against.
        carried = 3 * votes_for >= 2 * decisive
        return (
            carried,
            False,
            str(
                _("Carried with at least two thirds.")
                if carried
                else _("Not carried: less than two thirds in favour.")
            ),
        )
    if votes_for == votes_against:
        return False, True, str(_("Tied: a motion needs more votes for than against."))
    carried = votes_for > votes_against
    return (
        carried,
        False,
        str(_("Carried by simple majority.") if carried else _("Not carried.")),
    )


def election_outcome(
    *, counts: list[OptionCount], seats: int
) -> tuple[list[OptionCount], list[OptionCount]]:
    """(elected, tied for the last seats). Candidates with no votes are never elected."""
    ranked = sorted((c for c in counts if c.votes > 0), key=lambda c: (-c.votes, c.label))
    if len(ranked) <= seats:
        return ranked, []
    cutoff = ranked[seats - 1].votes
    if ranked[seats].votes < cutoff:
        return ranked[:seats], []
    return [c for c in ranked if c.votes > cutoff], [c for c in ranked if c.votes == cutoff]


def outcome(
    *,
    counts: list[OptionCount],
    ballots_cast: int,
    eligible: int,
    quorum: Decimal,
    rule: str,
    seats: int,
) -> Outcome:
    met = quorum_met(ballots_cast=ballots_cast, eligible=eligible, quorum=quorum)
    if not met:
        return Outcome(
            quorum_met=False,
            decided=False,
            carried=None if rule == MajorityRule.PLURALITY else False,
            summary=str(_("Quorum not met: no decision.")),
        )
    if rule == MajorityRule.PLURALITY:
        elected, tied = election_outcome(counts=counts, seats=seats)
        if tied:
            undecided = seats - len(elected)
            summary = ngettext_lazy(
                "Tie for the last seat: a further ballot is needed for it.",
                "Tie for the last %(count)d seats: a further ballot is needed for them.",
                undecided,
            ) % {"count": undecided}
        else:
            summary = _("Elected by plurality.")
        return Outcome(
            quorum_met=True,
            decided=not tied,
            carried=None,
            elected=elected,
            tied=tied,
            summary=str(summary),
        )
    by_choice = {c.motion_choice: c.votes for c in counts}
    carried, tied, summary = motion_outcome(
        votes_for=by_choice.get("for", 0), votes_against=by_choice.get("against", 0), rule=rule
    )
    return Outcome(quorum_met=True, decided=True, carried=carried, summary=summary)
