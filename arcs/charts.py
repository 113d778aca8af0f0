"""Progress charts as server-rendered SVG geometry: no script, readable without colour.

The template draws the shapes; this module only computes coordinates and the text
alternative (title and description), so the chart works under the strict CSP.
"""

import datetime
from decimal import Decimal

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from arcs.selectors import GoalProgress

# A narrow drawing scaled to the column: on a 360 px phone it shrinks by about 0.8, so
# 15 px labels stay above 12 px on screen (a 640-wide drawing halved them).
WIDTH, HEIGHT = 400, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 28, 40
TICKS = 5  # about this many horizontal grid lines


def _number(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text


def nice_step(span: Decimal, *, ticks: int = TICKS) -> Decimal:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about ``ticks`` lines."""
    raw = span / (ticks - 1) if span > 0 else Decimal(1)
    exponent = raw.adjusted()
    power = Decimal(10) ** exponent
    for factor in (1, 2, Decimal("2.5"), 5, 10):
        if raw <= factor * power:
            return (factor * power).normalize()
    return (10 * power).normalize()  # pragma: no cover - 10 always covers raw


def nice_ticks(low: Decimal, high: Decimal, *, ticks: int = TICKS) -> list[Decimal]:
    """Round tick values covering [low, high]: 0, 2, 4, 6, 8 rather than 1.3, 2.85…"""
    step = nice_step(high - low, ticks=ticks)
    start = (low / step).to_integral_value(rounding="ROUND_FLOOR") * step
    end = (high / step).to_integral_value(rounding="ROUND_CEILING") * step
    if end == start:
        end = start + step
    count = int((end - start) / step)
    return [(start + step * i).normalize() for i in range(count + 1)]


def goal_chart(progress: GoalProgress, *, start: datetime.date) -> dict:
    goal = progress.goal
    points = progress.points
    dates = [d for d, _v in points] + [goal.target_date, start]
    x0, x1 = min(dates), max(dates)
    span_days = max((x1 - x0).days, 1)
    values = [v for _d, v in points] + [goal.baseline, goal.target]
    measure = goal.measure
    ticks = nice_ticks(min(values), max(values))
    # Round ticks, kept inside the measure's valid range (no -2 on a 0-10 scale).
    ticks = [t for t in ticks if measure.min_value <= t <= measure.max_value] or ticks
    low, high = min(ticks[0], min(values)), max(ticks[-1], max(values))
    if high == low:
        high = low + 1
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
        "title": (
            _("Progress toward: %(goal)s (%(measure)s, %(unit)s)")
            % {"goal": goal.description, "measure": goal.measure.name, "unit": unit}
            if unit
            else _("Progress toward: %(goal)s (%(measure)s)")
            % {"goal": goal.description, "measure": goal.measure.name}
        ),
        "desc": desc,
        "line": " ".join(f"{c['cx']},{c['cy']}" for c in circles),
        "circles": circles,
        "target_y": y(goal.target),
        "baseline_y": y(goal.baseline),
        "target_x": x(goal.target_date),
        "target_label": _number(goal.target),
        "baseline_label": _number(goal.baseline),
        "y_ticks": [{"y": y(t), "label": _number(t)} for t in ticks],
        "x_start_label": date_format(x0, "SHORT_DATE_FORMAT"),
        "x_end_label": date_format(x1, "SHORT_DATE_FORMAT"),
        "unit": unit,
    }
