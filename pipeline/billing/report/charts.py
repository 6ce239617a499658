"""charts: inline SVG charts for report.html, rendered offline by pygal and deterministic.

pygal draws the charts; three things it adds by default are taken out so the same data give
the same bytes and the page needs no network: the random chart id (replaced by the caller's
`key`), the comment carrying today's date, and the <script> elements (its tooltip code is
fetched from the web; the values are printed on the chart instead). Text is escaped by the XML
serializer, so an id like `<script>` stays text.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from xml.etree import ElementTree

import pygal
from pygal.etree import etree as pygal_etree
from pygal.style import Style

pygal_etree.to_etree()  # the standard library's serializer, whether or not lxml is installed: same bytes

STYLE = Style(
    background="white", plot_background="white", foreground="#333", foreground_strong="#111",
    foreground_subtle="#ccc", opacity=".85", opacity_hover=".95", transition="0ms",
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif",
    label_font_size=11, major_label_font_size=11, value_font_size=10, value_label_font_size=10,
    title_font_size=14, legend_font_size=11,
    colors=("#2563eb", "#ea580c", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04", "#db2777"),
)
COMMON = {"style": STYLE, "js": [], "disable_xml_declaration": True, "explicit_size": False, "show_legend": False,
          "margin": 8, "truncate_label": -1, "print_values": False}


def _clean(root: ElementTree.Element) -> ElementTree.Element:
    """Drop comments (one holds today's date) and scripts (pygal's config and tooltip loader)."""
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag is ElementTree.Comment or str(child.tag).endswith("script"):
                parent.remove(child)
    return root


def _render(chart: pygal.graph.graph.Graph, key: str) -> str:
    chart.uuid = key  # pygal scopes each chart's CSS by this id; a random one by default
    chart.add_xml_filter(_clean)
    return chart.render(is_unicode=True)


def axis_format(values: Sequence[float]) -> Callable[[float], str]:
    """Whole numbers on the axis when the values are large, two decimals when they are small."""
    top = max((abs(float(v)) for v in values), default=0)
    return (lambda v: f"{v:,.0f}") if top >= 100 else (lambda v: f"{v:,.2f}")


def hbar(key: str, title: str, labels: Sequence[str], values: Sequence[float]) -> str:
    """A horizontal bar chart, one bar per label, top to bottom in the given order (the exact
    figures are in the table beside it)."""
    height = 70 + 26 * max(1, len(labels))
    chart = pygal.HorizontalBar(width=760, height=height, value_formatter=axis_format(values), **COMMON)
    chart.title = title
    chart.x_labels = list(reversed(labels))  # pygal draws the first label at the bottom
    chart.add(title, list(reversed([float(v) for v in values])))
    return _render(chart, key)


def count_ticks(top: float, most: int = 8) -> list[int]:
    """Whole-number axis ticks from 0 to at least `top`, at most `most` + 1 of them, on a 1-2-5 step
    (an axis of counts never shows 0.5 events, nor the same rounded label twice)."""
    step = 1
    while top / step > most:
        step = step * 5 // 2 if str(step)[0] == "2" else step * 2
    return list(range(0, math.ceil(top / step) * step + 1, step))


def lines(key: str, title: str, days: Sequence[str], series: dict[str, Sequence[float | None]],
          fmt: Callable[[float], str] = lambda v: f"{v:,.0f}") -> str:
    """A line chart over days of counts, one line per series (a legend when there are several)."""
    chart = pygal.Line(width=560, height=240, value_formatter=fmt, x_label_rotation=0, margin_right=36,
                       show_minor_x_labels=False, x_labels_major_every=max(1, len(days) // 5),
                       show_dots=len(days) <= 45, dots_size=2, fill=True,
                       **{**COMMON, "show_legend": len(series) > 1})
    chart.title = title
    chart.x_labels = list(days)
    chart.y_labels = count_ticks(max((float(v) for vs in series.values() for v in vs if v is not None), default=0))
    for name, values in series.items():
        chart.add(name, [None if v is None else float(v) for v in values])
    return _render(chart, key)
