"""Progress charts as server-rendered SVG: no script, readable without colour.

This module computes the coordinates and the text alternative (title and description)
and writes the SVG (``goal_chart_svg``); the template puts it in a figure with its
caption and the values as a table, so the chart works under the strict CSP. The SVG is
written here rather than in the template because a member's page draws a chart per
goal, and drawing it with template tags was a fifth of that page's work.
"""

import datetime
from decimal import Decimal

from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

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
        desc = ngettext(
            "%(measure)s from a baseline of %(baseline)s toward a target of %(target)s by "
            "%(target_date)s. %(count)s value recorded, on %(day)s: %(latest)s.",
            "%(measure)s from a baseline of %(baseline)s toward a target of %(target)s by "
            "%(target_date)s. %(count)s values recorded; the latest, on %(day)s, is %(latest)s.",
            len(points),
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
    chart = {
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
    chart["svg"] = goal_chart_svg(chart, goal_id=goal.pk)
    return chart


def _coordinate(value: float | int) -> str:
    """A coordinate as the browser reads it, whatever the language: "12.5", never "12,5"."""
    return str(value)


def goal_chart_svg(chart: dict, *, goal_id: int) -> SafeString:
    """The chart's drawing: grid and labels, axes, baseline, target and target date, and
    the values as points joined by a line; text is escaped, coordinates never localized."""
    c = {key: _coordinate(chart[key]) for key in ("width", "height", "left", "right", "top")}
    c.update(
        bottom=_coordinate(chart["bottom"]),
        baseline_y=_coordinate(chart["baseline_y"]),
        target_y=_coordinate(chart["target_y"]),
        target_x=_coordinate(chart["target_x"]),
        label_x=_coordinate(chart["left"] - 6),
        unit_y=_coordinate(chart["top"] - 12),
        x_label_y=_coordinate(chart["bottom"] + 18),
    )
    grid = format_html_join(
        "\n",
        '<line class="chart-grid" x1="{left}" x2="{right}" y1="{y}" y2="{y}"/>'
        '<text class="chart-label" x="{label_x}" y="{y}" text-anchor="end" '
        'dominant-baseline="middle">{label}</text>',
        (
            {
                "left": c["left"],
                "right": c["right"],
                "label_x": c["label_x"],
                "y": _coordinate(tick["y"]),
                "label": tick["label"],
            }
            for tick in chart["y_ticks"]
        ),
    )
    unit = (
        format_html('<text class="chart-unit" x="4" y="{}">{}</text>', c["unit_y"], chart["unit"])
        if chart["unit"]
        else ""
    )
    line = (
        format_html('<polyline class="chart-line" points="{}" fill="none"/>', chart["line"])
        if len(chart["circles"]) > 1
        else ""
    )
    points = format_html_join(
        "\n",
        '<circle class="chart-point" cx="{}" cy="{}" r="6" data-value="{}"><title>{}</title>'
        "</circle>",
        (
            (_coordinate(p["cx"]), _coordinate(p["cy"]), p["value"], p["label"])
            for p in chart["circles"]
        ),
    )
    return format_html(
        '<svg class="goal-chart-svg" viewBox="0 0 {width} {height}" role="img" '
        'aria-labelledby="chart-title-{goal} chart-desc-{goal}" data-goal="{goal}">\n'
        '<title id="chart-title-{goal}">{title}</title>\n'
        '<desc id="chart-desc-{goal}">{desc}</desc>\n'
        "{grid}\n{unit}\n"
        '<line class="chart-axis" x1="{left}" x2="{left}" y1="{top}" y2="{bottom}"/>\n'
        '<line class="chart-axis" x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}"/>\n'
        '<line class="chart-baseline" x1="{left}" x2="{right}" y1="{baseline_y}" '
        'y2="{baseline_y}" stroke-dasharray="2 4"/>\n'
        '<line class="chart-target" x1="{left}" x2="{right}" y1="{target_y}" y2="{target_y}" '
        'stroke-dasharray="8 4"/>\n'
        '<text class="chart-label chart-target-label" x="{right}" y="{target_y}" dy="-4" '
        'text-anchor="end">{target_word} {target_label}</text>\n'
        '<line class="chart-target-date" x1="{target_x}" x2="{target_x}" y1="{top}" '
        'y2="{bottom}" stroke-dasharray="4 4"/>\n'
        "{line}\n{points}\n"
        '<text class="chart-label" x="{left}" y="{x_label_y}">{x_start}</text>\n'
        '<text class="chart-label" x="{right}" y="{x_label_y}" text-anchor="end">{x_end}</text>'
        "\n</svg>",
        goal=goal_id,
        title=chart["title"],
        desc=chart["desc"],
        grid=grid,
        unit=unit,
        line=line,
        points=points,
        target_word=_("target"),
        target_label=chart["target_label"],
        x_start=chart["x_start_label"],
        x_end=chart["x_end_label"],
        **c,
    )
