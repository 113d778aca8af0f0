"""Progress charts as server-rendered SVG geometry: no script, readable without colour.

The template draws the shapes; this module only computes coordinates and the text
alternative (title and description), so the chart works under the strict CSP.
"""

import datetime
from decimal import Decimal

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from arcs.selectors import GoalProgress

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 16, 44


def _number(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text


def goal_chart(progress: GoalProgress, *, start: datetime.date) -> dict:
    goal = progress.goal
    points = progress.points
    dates = [d for d, _v in points] + [goal.target_date, start]
    x0, x1 = min(dates), max(dates)
    span_days = max((x1 - x0).days, 1)
    values = [v for _d, v in points] + [goal.baseline, goal.target]
    low, high = min(values), max(values)
    pad = (high - low) * Decimal("0.1") or Decimal(1)
    low, high = low - pad, high + pad
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: datetime.date) -> float:
        return round(LEFT + (day - x0).days / span_days * plot_w, 1)

    def y(value: Decimal) -> float:
        return round(TOP + float((high - value) / (high - low)) * plot_h, 1)

    unit = goal.measure.unit
    circles = [
        {
            "cx": x(day),
            "cy": y(value),
            "label": f"{date_format(day, 'SHORT_DATE_FORMAT')}: {_number(value)} {unit}".strip(),
            "value": _number(value),
            "day": day,
        }
        for day, value in points
    ]
    ticks = [low + (high - low) * Decimal(i) / 4 for i in range(5)]
    if points:
        latest_day, latest = points[-1]
        desc = _(
            "%(measure)s from a baseline of %(baseline)s toward a target of %(target)s by "
            "%(target_date)s. %(count)s values recorded; the latest, on %(day)s, is %(latest)s."
        ) % {
            "measure": goal.measure.name,
            "baseline": _number(goal.baseline),
            "target": _number(goal.target),
            "target_date": date_format(goal.target_date),
            "count": len(points),
            "day": date_format(latest_day),
            "latest": _number(latest),
        }
    else:
        desc = _(
            "%(measure)s from a baseline of %(baseline)s toward a target of %(target)s by "
            "%(target_date)s. No values recorded yet."
        ) % {
            "measure": goal.measure.name,
            "baseline": _number(goal.baseline),
            "target": _number(goal.target),
            "target_date": date_format(goal.target_date),
        }
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "bottom": HEIGHT - BOTTOM,
        "title": _("Progress toward: %(goal)s") % {"goal": goal.description},
        "desc": desc,
        "line": " ".join(f"{c['cx']},{c['cy']}" for c in circles),
        "circles": circles,
        "target_y": y(goal.target),
        "baseline_y": y(goal.baseline),
        "target_x": x(goal.target_date),
        "target_label": _number(goal.target),
        "baseline_label": _number(goal.baseline),
        "y_ticks": [{"y": y(t), "label": _number(t.quantize(Decimal("0.1")))} for t in ticks],
        "x_start_label": date_format(x0, "SHORT_DATE_FORMAT"),
        "x_end_label": date_format(x1, "SHORT_DATE_FORMAT"),
        "unit": unit,
    }
