"""The SVG charts place their shapes with numbers the browser reads: in every language a
coordinate keeps its decimal point ("12.5"); "12,5" would put the shape nowhere. The
numbers people read (votes, percentages) follow the language."""

import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from arcs.charts import goal_chart_svg

ATTRIBUTE_NUMBERS = re.compile(r'\s(?:x|y|x1|x2|y1|y2|cx|cy|width|height|viewBox)="([^"]*)"')


def coordinates(svg: str) -> list[str]:
    return ATTRIBUTE_NUMBERS.findall(svg)


@pytest.mark.parametrize("language", ["en", "es", "pt-br"])
def test_goal_chart_coordinates_keep_their_decimal_point(language):
    chart = {
        "width": 560, "height": 220, "left": 48.5, "right": 540.5, "top": 20, "bottom": 190,
        "title": "t", "desc": "d", "line": "60.5,100.5 80.5,90.5", "unit": "",
        "circles": [{"cx": 60.5, "cy": 100.5, "label": "l", "value": "7,5", "day": None}],
        "target_y": 40.5, "baseline_y": 150.5, "target_x": 500.5, "target_label": "5",
        "baseline_label": "9", "y_ticks": [{"y": 120.5, "label": "6"}],
        "x_start_label": "a", "x_end_label": "b",
    }  # fmt: skip
    goal = SimpleNamespace(pk=1, target_date=None)
    with translation.override(language):
        chart["svg"] = goal_chart_svg(chart, goal_id=goal.pk)
        html = render_to_string("arcs/_goal_chart.html", {"chart": chart, "goal": goal})
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert coordinates(svg) and all("," not in value for value in coordinates(svg))
    assert 'cx="60.5"' in svg and 'y1="120.5"' in svg


@pytest.mark.parametrize("language", ["en", "es", "pt-br"])
def test_headcount_and_tally_chart_coordinates_keep_their_decimal_point(language):
    headcount = {
        "id": "h", "width": 640, "height": 240, "left": 40.5, "right": 620.5, "label_y": 230.5,
        "title": "t", "desc": "d",
        "columns": [{"x": 50.5, "y": 60.5, "width": 20.5, "height": 100.5, "label_x": 60.5,
                     "alt": "a", "short_label": "m"}],
        "ticks": [{"value": 10, "y": 80.5}],
    }  # fmt: skip
    tally = {
        "id": "b", "width": 640, "height": 120, "label_x": 150.5, "title": "t", "desc": "d",
        "bars": [{"x": 160.5, "y": 20.5, "width": 300.5, "height": 24.5, "text_y": 32.5,
                  "value_x": 470.5, "label": "Yes", "alt": "a", "votes": 3,
                  "percent": Decimal("37.5")}],
    }  # fmt: skip
    with translation.override(language):
        svgs = [
            render_to_string("billing/_headcount_chart.html", {"chart": headcount}),
            render_to_string("governance/_tally_chart.html", {"chart": tally}),
        ]
    for html in svgs:
        svg = html[html.index("<svg") : html.index("</svg>")]
        assert coordinates(svg) and all("," not in value for value in coordinates(svg)), svg
    # The percentage people read is written their language's way.
    assert ("(37,5%)" if language != "en" else "(37.5%)") in svgs[1]
