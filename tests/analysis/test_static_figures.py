"""Figures you can paste: PNG and SVG rendered offline with the installed Chromium.

These need Debian's chromium (``make browser-deps``, which ``make test`` runs first): on a
developer machine without it they are skipped with the reason; in CI they must run.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import plotly.graph_objects as go
import pytest

from workbench.analysis import Frames, write_report
from workbench.analysis.static import HEIGHT, SCALE, WIDTH, use_system_browser, write_static

CHROMIUM = "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true",
    reason="Debian's chromium is not installed (make browser-deps)")


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


@needs_chromium
def test_a_figure_renders_to_png_and_svg_of_the_expected_size(tmp_path: Path) -> None:
    fig = go.Figure(go.Bar(x=["direct", "cot", "sc@8"], y=[0.2, 0.3, 0.5]))
    small = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]), layout={"width": 400, "height": 300})
    paths = write_static({"bars": fig, "small": small}, tmp_path)
    assert sorted(p.name for p in paths) == ["bars.png", "bars.svg", "small.png", "small.svg"]
    assert png_size(tmp_path / "bars.png") == (WIDTH * SCALE, HEIGHT * SCALE)
    assert png_size(tmp_path / "small.png") == (400 * SCALE, 300 * SCALE)
    assert (tmp_path / "bars.png").stat().st_size > 5_000  # drawn, not an empty canvas
    svg = ET.parse(tmp_path / "bars.svg").getroot()
    assert svg.tag.endswith("svg") and svg.get("width") == str(WIDTH)
    assert "sc@8" in (tmp_path / "bars.svg").read_text()


@needs_chromium
def test_fig_write_image_works_after_importing_the_package(tmp_path: Path) -> None:
    # a notebook: import workbench.analysis, then plotly's own write_image
    code = ("import os, workbench.analysis, plotly.graph_objects as go; "
            "print(os.environ['BROWSER_PATH']); "
            f"go.Figure(go.Scatter(x=[0, 1], y=[1, 0])).write_image({str(tmp_path / 'f.png')!r})")
    env = {k: v for k, v in os.environ.items() if k != "BROWSER_PATH"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**env, "PYTHONPATH": str(Path(__file__).parents[2])},
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == CHROMIUM
    assert png_size(tmp_path / "f.png")[0] > 0


def test_a_browser_the_user_chose_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROWSER_PATH", "/opt/my/chrome")
    assert use_system_browser() == "/opt/my/chrome"
    assert os.environ["BROWSER_PATH"] == "/opt/my/chrome"


def test_without_a_browser_the_report_keeps_its_html_and_says_why(
        frames: Frames, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-chromium"))
    rep = write_report(frames, tmp_path / "r", b=50)
    assert "PNG/SVG skipped (HTML only)" in rep.png and "no-such-chromium" in rep.png
    assert (tmp_path / "r" / "scaling.html").exists()
    assert not list((tmp_path / "r").glob("*.png"))
    assert "PNG/SVG export: PNG/SVG skipped" in (tmp_path / "r" / "report.md").read_text()


@needs_chromium
def test_the_report_writes_png_and_svg_beside_every_html(frames: Frames, tmp_path: Path
                                                          ) -> None:
    rep = write_report(frames, tmp_path / "r", b=50)
    out = tmp_path / "r"
    html = {p.stem for p in out.glob("*.html")}
    assert html and {p.stem for p in out.glob("*.png")} == html
    assert {p.stem for p in out.glob("*.svg")} == html
    assert all(png_size(out / f"{name}.png")[0] > 0 for name in html)
    assert rep.png.startswith("PNG and SVG via kaleido")
    assert "![scaling](scaling.png)" in (out / "report.md").read_text()
