"""Static PNG / SVG of plotly figures, offline, with the Chromium already on the machine.

Why: figures that exist only as interactive HTML cannot be pasted into a paper or a slide.
kaleido >= 1 renders through a Chrome/Chromium it finds via ``BROWSER_PATH`` (through
``choreographer``); it only downloads one when asked to (``kaleido.get_chrome``), which
this module never does. :func:`use_system_browser` points it at Debian's ``chromium`` (the
one the browser tests use) unless the user already chose a browser, and it runs when
``workbench.analysis`` is imported, so ``fig.write_image(...)`` works in a notebook too.
Many figures are written in one browser session (``plotly.io.write_images``): one start-up
of ~4 s instead of one per figure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import plotly.graph_objects as go

SYSTEM_BROWSERS = ("/usr/bin/chromium", "/usr/bin/chromium-browser",
                   "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable")
FORMATS = ("png", "svg")
WIDTH, HEIGHT, SCALE = 900, 560, 2
"""Default static size in CSS pixels (a figure's own layout width/height wins); PNGs are
rendered at ``SCALE`` x for print (1800 x 1120 pixels by default)."""


def use_system_browser() -> str | None:
    """Set ``BROWSER_PATH`` to an installed Chromium if the user has not set one; returns
    the browser kaleido will use (None: none found, static export will say so)."""
    chosen = os.environ.get("BROWSER_PATH")
    if chosen:
        return chosen
    candidates = [*SYSTEM_BROWSERS, shutil.which("chromium"), shutil.which("google-chrome")]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            os.environ["BROWSER_PATH"] = path
            return path
    return None


def size_of(fig: go.Figure) -> tuple[int, int]:
    """The static size of ``fig`` in CSS pixels: its layout's, else the default."""
    return int(fig.layout.width or WIDTH), int(fig.layout.height or HEIGHT)


def write_static(figs: Mapping[str, go.Figure], out_dir: Path,
                 formats: Sequence[str] = FORMATS, scale: float = SCALE) -> list[Path]:
    """Write every figure as ``out_dir/NAME.FORMAT`` in one browser session (PNG at
    ``scale`` x, SVG at its CSS size: it is vector); returns the paths. Raises what kaleido raises (no browser, a render failure): callers report it."""
    import plotly.io as pio

    if not figs:
        return []
    use_system_browser()
    items = [(name, fig, fmt) for name, fig in figs.items() for fmt in formats]
    paths = [out_dir / f"{name}.{fmt}" for name, _, fmt in items]
    pio.write_images([fig for _, fig, _ in items], paths, format=[f for *_, f in items],
                     width=[size_of(f)[0] for _, f, _ in items],
                     height=[size_of(f)[1] for _, f, _ in items],
                     scale=[scale if fmt == "png" else 1 for *_, fmt in items])
    return paths


def static_exporter() -> tuple[bool, str]:
    """Whether static export works here (a one-figure probe), and what it uses or why not."""
    browser = use_system_browser()
    probe = go.Figure(go.Scatter(x=[0, 1], y=[0, 1]))
    try:
        probe.to_image(format="png", width=64, height=48)
    except Exception as exc:  # noqa: BLE001 - any failure means "not available here"
        where = browser or "no Chromium found (install chromium or set BROWSER_PATH)"
        return False, (f"PNG/SVG skipped (HTML only): kaleido with {where}: "
                       f"{type(exc).__name__}: {str(exc).strip()[:160]}")
    return True, f"kaleido {_kaleido_version()} with {browser or 'its browser'}"


def _kaleido_version() -> str:
    try:
        from importlib.metadata import version

        return version("kaleido")
    except Exception:  # noqa: BLE001
        return "?"
