"""The covered headcount per month as a column chart: server-rendered SVG geometry.

As on the arc and ballot pages: the template draws the shapes, this module computes the
coordinates, round tick values and the text alternative; the table beside it has the same
numbers, so the chart needs no script and reads without colour.
"""

import datetime

from django.utils import formats
from django.utils.translation import gettext as _

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 12, 36


def _nice_step(top: int) -> int:
    """A round tick step (1, 2 or 5 times a power of ten) giving at most five ticks."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if top / (step * factor) <= 5:
                return step * factor
        step *= 10


def headcount_chart(headcount: list[tuple[datetime.date, int]], *, chart_id: str) -> dict:
    """Columns for the last twelve months of ``headcount`` (the table lists them all)."""
    months = headcount[-12:]
    highest = max((count for _month, count in months), default=0)
    step = _nice_step(max(highest, 1))
    top = step * -(-max(highest, 1) // step)  # rounded up to a whole step
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(months), 1)
    columns = []
    for index, (month, count) in enumerate(months):
        height = round(count / top * plot_h, 1)
        label = formats.date_format(month, "YEAR_MONTH_FORMAT")
        columns.append(
            {
                "x": round(LEFT + index * slot + slot * 0.15, 1),
                "y": round(TOP + plot_h - height, 1),
                "width": round(slot * 0.7, 1),
                "height": height,
                "label_x": round(LEFT + index * slot + slot / 2, 1),
                "short_label": formats.date_format(month, "M"),
                "count": count,
                "alt": _("%(month)s: %(count)d people covered") % {"month": label, "count": count},
            }
        )
    ticks = [
        {"value": value, "y": round(TOP + plot_h - value / top * plot_h, 1)}
        for value in range(0, top + 1, step)
    ]
    title = _("People covered per month")
    desc = "; ".join(column["alt"] for column in columns) + "." if columns else ""
    return {
        "id": chart_id,
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "baseline": TOP + plot_h,
        "label_y": TOP + plot_h + 16,
        "columns": columns,
        "ticks": ticks,
        "title": title,
        "desc": desc,
    }
