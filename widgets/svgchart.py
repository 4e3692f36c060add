"""Small charts drawn in Python as inline SVG, for the live widgets.

Why not plotly ``FigureWidget``: it saves only its *initial* data in the notebook's widget
state (later updates travel as messages), so a saved or exported notebook showed empty
charts; and every instance stored its own ~5 MB front-end bundle, which made an executed
Explorer notebook 15 MB. Here a chart is one string of SVG markup in an ipywidgets
``HTML`` value: the saved state *is* the current picture, a few kB, and it renders with no
JavaScript at all. plotly stays for the analysis figures (``workbench.analysis``).

Every text that came from a model or a user is escaped: the markup goes into innerHTML.

The class names carry plotly-compatible aliases (``js-plotly-plot``, ``main-svg``,
``bars``, ``point``) next to the ``wb-`` ones, so browser tests written against the old
FigureWidget DOM keep selecting the same things; new tests should use the ``wb-`` names.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from workbench.htmltext import escape

FONT = "font-family:var(--jp-ui-font-family, sans-serif)"
AXIS = "#888"
GRID = "#e4e4e4"


@dataclass(frozen=True)
class Bar:
    """One bar: its category label, height, colour and the tags written above it."""

    label: str
    value: float
    color: str
    tags: tuple[str, ...] = ()
    outlined: bool = False
    cls: str = ""
    attrs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Point:
    """One scatter point; ``title`` is the hover text, ``star`` draws the live marker."""

    x: float
    y: float
    color: str
    title: str
    star: bool = False


def _attrs(pairs: Sequence[tuple[str, str]]) -> str:
    return "".join(f' {k}="{escape(v)}"' for k, v in pairs)


def _num(v: float) -> str:
    """Short number text: 3 not 3.0, 2.5 stays."""
    return f"{v:g}" if abs(v) < 1e6 else f"{v:.3g}"


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """0 .. >= top in round steps (1, 2, 5 x 10^k): what a reader expects on a count axis."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    step = max(step, 1.0) if top >= 1 else step
    return [round(i * step, 12) for i in range(int(math.ceil(top / step - 1e-9)) + 1)]


def _frame(width: int, height: int, title: str, cls: str, body: list[str]) -> str:
    # max-width + height:auto: in a narrow notebook the chart shrinks (viewBox keeps its
    # proportions) instead of making the Explorer scroll sideways
    return (f'<div class="wb-chart {cls} js-plotly-plot" style="width:100%;'
            f'max-width:{width}px">'
            f'<svg class="wb-chart-svg main-svg" xmlns="http://www.w3.org/2000/svg" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img" aria-label="{escape(title)}" '
            f'style="{FONT};font-size:11px;max-width:100%;height:auto">'
            f'<text x="{width / 2:.0f}" y="16" text-anchor="middle" font-size="13" '
            f'font-weight="600">{escape(title)}</text>{"".join(body)}</svg></div>')


def _y_axis(ticks: list[float], y_of: Callable[[float], float], left: int, right: int,
            fmt: Callable[[float], str] = _num) -> list[str]:
    """Horizontal grid lines with their labels."""
    out = []
    for t in ticks:
        y = y_of(t)
        out.append(f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="{GRID}"/><text x="{left - 4}" y="{y + 3:.1f}" '
                   f'text-anchor="end" fill="#555">{fmt(t)}</text>')
    return out


def bar_chart_svg(bars: Sequence[Bar], *, title: str, y_title: str, width: int = 420,
                  height: int = 260, empty: str = "No data yet.") -> str:
    """A bar chart; bars are ``<g class="wb-bar bars point">`` with a hover ``<title>``."""
    left, right, top, bottom = 44, width - 10, 30, height - 40
    if not bars:
        return _frame(width, height, title, "wb-bar-chart", [
            f'<text class="wb-chart-empty" x="{width / 2:.0f}" y="{height / 2:.0f}" '
            f'text-anchor="middle" fill="#777">{escape(empty)}</text>'])
    ticks = nice_ticks(max(b.value for b in bars))
    scale = (bottom - top - 26) / (ticks[-1] or 1.0)

    def y_of(v: float) -> float:
        return bottom - v * scale

    body = _y_axis(ticks, y_of, left, right)
    body.append(f'<text transform="translate(12 {(top + bottom) / 2:.0f}) rotate(-90)" '
                f'text-anchor="middle" fill="#555">{escape(y_title)}</text>')
    band = (right - left) / len(bars)
    bar_w = min(60.0, band * 0.7)
    body.append('<g class="wb-bars bars">')
    for i, b in enumerate(bars):
        x = left + band * i + (band - bar_w) / 2
        y = y_of(b.value)
        stroke = ' stroke="#222" stroke-width="3"' if b.outlined else ""
        tags = "".join(f'<tspan x="{x + bar_w / 2:.1f}" dy="-12">{escape(t)}</tspan>'
                       for t in b.tags)
        body.append(
            f'<g class="wb-bar point {escape(b.cls)}"{_attrs(b.attrs)}>'
            f"<title>{escape(b.label)}: {_num(b.value)}</title>"
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{bottom - y:.1f}" '
            f'fill="{escape(b.color)}"{stroke}/>'
            f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" '
            f'font-weight="600">{_num(b.value)}{tags}</text>'
            f'<text class="wb-bar-label" x="{x + bar_w / 2:.1f}" y="{bottom + 14}" '
            f'text-anchor="middle">{escape(_short(b.label, 12))}</text></g>')
    body.append(f'</g><line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" '
                f'stroke="{AXIS}"/>')
    return _frame(width, height, title, "wb-bar-chart", body)


def log_ticks(lo: float, hi: float) -> list[float]:
    """1-2-5 ticks per decade inside [lo, hi] (a token axis spans 64 to ~10^5)."""
    out = []
    for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        out += [m * 10.0**k for m in (1, 2, 5) if lo <= m * 10.0**k <= hi]
    return out


def _star(cx: float, cy: float, r: float) -> str:
    pts = []
    for i in range(10):
        a = math.pi / 2 + i * math.pi / 5
        rad = r if i % 2 == 0 else r * 0.45
        pts.append(f"{cx + rad * math.cos(a):.1f},{cy - rad * math.sin(a):.1f}")
    return " ".join(pts)


def scatter_svg(points: Sequence[Point], *, title: str, x_title: str, y_title: str,
                legend: Sequence[tuple[str, str]] = (), width: int = 640, height: int = 300,
                empty: str = "No runs yet.") -> str:
    """Accuracy-style scatter: log x, y in [0, 1] as percent; stars mark live points."""
    left, right, top, bottom = 50, width - 130, 30, height - 40
    xs = [p.x for p in points if p.x > 0]
    if not xs:
        return _frame(width, height, title, "wb-scatter-chart", [
            f'<text class="wb-chart-empty" x="{width / 2:.0f}" y="{height / 2:.0f}" '
            f'text-anchor="middle" fill="#777">{escape(empty)}</text>'])
    lo, hi = min(xs) / 1.5, max(xs) * 1.5
    span = math.log10(hi) - math.log10(lo)

    def x_of(v: float) -> float:
        return left + (math.log10(max(v, lo)) - math.log10(lo)) / span * (right - left)

    def y_of(v: float) -> float:
        return bottom - v / 1.05 * (bottom - top)

    body = _y_axis([0.0, 0.25, 0.5, 0.75, 1.0], y_of, left, right, lambda t: f"{t:.0%}")
    for t in log_ticks(lo, hi):
        body.append(f'<text x="{x_of(t):.1f}" y="{bottom + 14}" text-anchor="middle" '
                    f'fill="#555">{_num(t)}</text>')
    body.append(f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" '
                f'stroke="{AXIS}"/><text x="{(left + right) / 2:.0f}" y="{height - 8}" '
                f'text-anchor="middle" fill="#555">{escape(x_title)}</text>'
                f'<text transform="translate(12 {(top + bottom) / 2:.0f}) rotate(-90)" '
                f'text-anchor="middle" fill="#555">{escape(y_title)}</text>')
    for p in points:
        x, y, tip = x_of(p.x), y_of(p.y), f"<title>{escape(p.title)}</title>"
        body.append(f'<polygon class="wb-scaling-live" points="{_star(x, y, 9)}" '
                    f'fill="{escape(p.color)}">{tip}</polygon>' if p.star else
                    f'<circle class="wb-scaling-point" cx="{x:.1f}" cy="{y:.1f}" r="6" '
                    f'fill="{escape(p.color)}" fill-opacity="0.85">{tip}</circle>')
    for i, (name, color) in enumerate(legend):
        y = top + 8 + 16 * i
        body.append(f'<circle cx="{right + 16}" cy="{y}" r="5" fill="{escape(color)}"/>'
                    f'<text x="{right + 26}" y="{y + 4}">{escape(name)}</text>')
    return _frame(width, height, title, "wb-scatter-chart", body)
