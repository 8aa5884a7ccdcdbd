"""Charts as inline SVG, rendered on the server (no charting library, no script).

Colours come from the stylesheet (series-0..4 classes use Polaris colour tokens); every chart
has a <title> for screen readers and every bar or point a <title> tooltip. The figures behind a
chart are also rendered as a table next to it (templates/admin/_macros.html).
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

Number = int | float
_ids = itertools.count(1)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[Number | None]


def axis_scale(largest: Number, *, ticks: int = 4, integer: bool = False) -> tuple[Number, int]:
    """A readable axis: (maximum, number of gridline steps) with a 1, 2, 2.5 or 5 x 10^k step,
    at most `ticks` steps; whole-number steps for counts."""
    if largest <= 0:
        return (ticks, ticks) if integer else (1, ticks)
    raw = largest / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    if integer:
        step = max(1, math.ceil(step))
    steps = math.ceil(largest / step - 1e-9)
    return round(step * steps, 10), steps


def _svg(width: int, height: int, title: str, content: list[str]) -> Markup:
    title_id = f"chart-title-{next(_ids)}"
    return Markup(f'<svg class="Chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{title_id}" '
                  f'xmlns="http://www.w3.org/2000/svg"><title id="{title_id}">{escape(title)}</title>'
                  + "".join(content) + "</svg>")


def _y_axis(left: int, top: int, right: int, bottom: int, maximum: Number, fmt: Callable[[Number], str],
            ticks: int) -> list[str]:
    parts = []
    for i in range(ticks + 1):
        value = maximum * i / ticks
        y = bottom - (bottom - top) * i / ticks
        parts.append(f'<line class="grid" x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(fmt(value))}</text>')
    parts.append(f'<line class="axis" x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}"/>')
    return parts


def _x_labels(labels: Sequence[str], left: int, step: float, y: int) -> list[str]:
    every = max(1, math.ceil(len(labels) / 12))  # at most 12 labels fit
    return [f'<text x="{left + step * (i + 0.5):.1f}" y="{y}" text-anchor="middle">{escape(label)}</text>'
            for i, label in enumerate(labels) if i % every == 0]


def bar_chart(labels: Sequence[str], series: Sequence[Series], *, title: str, fmt: Callable[[Number], str] = str,
              stacked: bool = False, integer: bool = False, width: int = 640, height: int = 220) -> Markup:
    """Vertical bars per label: grouped side by side, or stacked."""
    left, top, right, bottom = 56, 10, width - 8, height - 24
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))] if stacked else \
        [max((s.values[i] or 0) for s in series) for i in range(len(labels))] if series else []
    maximum, ticks = axis_scale(max(totals, default=0), integer=integer)
    step = (right - left) / max(1, len(labels))
    parts = _y_axis(left, top, right, bottom, maximum, fmt, ticks)
    scale = (bottom - top) / maximum
    for i, label in enumerate(labels):
        base, x0 = bottom, left + step * i + step * 0.1
        bar_width = step * 0.8 if stacked else step * 0.8 / max(1, len(series))
        for n, s in enumerate(series):
            value = s.values[i] or 0
            h = value * scale
            x = x0 if stacked else x0 + bar_width * n
            y = base - h
            parts.append(f'<rect class="series-{n}" x="{x:.1f}" y="{y:.1f}" width="{max(bar_width - 1, 1):.1f}" '
                         f'height="{h:.1f}" rx="2"><title>{escape(label)} - {escape(s.name)}: '
                         f'{escape(fmt(value))}</title></rect>')
            if stacked:
                base = y
    parts += _x_labels(labels, left, step, height - 6)
    return _svg(width, height, title, parts)


def line_chart(labels: Sequence[str], series: Sequence[Series], *, title: str,
               fmt: Callable[[Number], str] = str, maximum: Number | None = None, width: int = 640,
               height: int = 220) -> Markup:
    """Lines over labels; None leaves a gap (e.g. a month with nothing to measure)."""
    left, top, right, bottom = 56, 10, width - 8, height - 24
    values = [v for s in series for v in s.values if v is not None]
    maximum, ticks = (maximum, 4) if maximum else axis_scale(max(values, default=0))
    step = (right - left) / max(1, len(labels))
    parts = _y_axis(left, top, right, bottom, maximum, fmt, ticks)
    for n, s in enumerate(series):
        path, points, pen_down = [], [], False
        for i, value in enumerate(s.values):
            if value is None:
                pen_down = False
                continue
            x, y = left + step * (i + 0.5), bottom - (bottom - top) * value / maximum
            path.append(f"{'L' if pen_down else 'M'}{x:.1f} {y:.1f}")
            pen_down = True
            points.append(f'<circle class="series-{n}" cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{escape(labels[i])} - '
                          f'{escape(s.name)}: {escape(fmt(value))}</title></circle>')
        if path:
            parts.append(f'<path class="line series-{n}" d="{" ".join(path)}"/>')
        parts += points
    parts += _x_labels(labels, left, step, height - 6)
    return _svg(width, height, title, parts)


def hbar_chart(items: Sequence[tuple[str, Number]], *, title: str, fmt: Callable[[Number], str] = str,
               width: int = 640, row_height: int = 30) -> Markup:
    """Horizontal bars, one per item, each labelled with its value (funnels, distributions)."""
    label_width, value_width = 170, 70
    height = max(1, len(items)) * row_height + 8
    maximum = max((v for _, v in items), default=0) or 1
    plot = width - label_width - value_width
    parts = []
    for i, (label, value) in enumerate(items):
        y = 4 + i * row_height
        w = plot * value / maximum
        parts.append(f'<text x="{label_width - 8}" y="{y + row_height / 2 + 4:.1f}" text-anchor="end">'
                     f'{escape(label)}</text>')
        parts.append(f'<rect class="series-{min(i, 4) if len(items) > 1 else 0}" x="{label_width}" y="{y + 4}" '
                     f'width="{max(w, 1):.1f}" height="{row_height - 10}" rx="3"><title>{escape(label)}: '
                     f'{escape(fmt(value))}</title></rect>')
        parts.append(f'<text class="value" x="{label_width + max(w, 1) + 6:.1f}" y="{y + row_height / 2 + 4:.1f}">'
                     f'{escape(fmt(value))}</text>')
    return _svg(width, height, title, parts)
