"""The result of a ballot as a horizontal bar chart: server-rendered SVG geometry.

As on the arc pages (arcs/charts.py): the template draws the shapes, this module computes
coordinates and the text alternative, so the chart needs no script and reads without colour.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from governance.selectors import Tally

WIDTH = 640
LABEL_W, RIGHT, TOP, BAR_H, GAP = 200, 96, 8, 24, 12


def share(votes: int, of: int) -> Decimal:
    """Votes as a percentage of ``of``, one decimal, half up (0 when nothing was cast)."""
    if not of:
        return Decimal("0.0")
    return (Decimal(votes) * 100 / Decimal(of)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def tally_chart(tally: Tally) -> dict:
    counts = tally.counts
    top = max((c.votes for c in counts), default=0) or 1
    plot_w = WIDTH - LABEL_W - RIGHT
    bars = []
    for i, count in enumerate(counts):
        y = TOP + i * (BAR_H + GAP)
        percent = share(count.votes, tally.ballots_cast)
        bars.append(
            {
                "label": count.label,
                "votes": count.votes,
                "percent": percent,
                "x": LABEL_W,
                "y": y,
                "text_y": y + BAR_H / 2,
                "width": round(count.votes / top * plot_w, 1),
                "height": BAR_H,
                "value_x": LABEL_W + round(count.votes / top * plot_w, 1) + 6,
                "alt": _("%(label)s: %(votes)d votes (%(percent)s%%)")
                % {"label": count.label, "votes": count.votes, "percent": percent},
            }
        )
    title = _("Votes per option")
    desc = _("%(cast)d ballots cast. %(bars)s") % {
        "cast": tally.ballots_cast,
        "bars": "; ".join(bar["alt"] for bar in bars) + ".",
    }
    return {
        "width": WIDTH,
        "height": TOP * 2 + len(bars) * (BAR_H + GAP),
        "label_x": LABEL_W - 8,
        "bars": bars,
        "title": title,
        "desc": desc,
        "id": f"ballot-{tally.ballot.pk}",
    }
