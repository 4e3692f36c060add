"""Fixtures for the real-browser tier: one JupyterLab + one Chromium per session.

Skipped (with the reason) only when /usr/bin/chromium is missing on a developer machine;
in CI (``CI=true``) a missing browser is a failure, so the tier can never silently vanish.
Install it with ``make browser-deps`` (Debian's chromium; never ``playwright install``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import wb_browser as wb  # noqa: E402


@pytest.fixture(scope="session")
def chromium() -> str:
    return wb.require_chromium()


@pytest.fixture(scope="session")
def lab_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temp copy of notebooks/ (kernels write their trace DBs next to it, not the repo)."""
    return wb.copy_notebooks(tmp_path_factory.mktemp("lab-root"))


@pytest.fixture(scope="session")
def lab(chromium: str, lab_root: Path, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[wb.LabServer]:
    work = tmp_path_factory.mktemp("lab-work")
    server = wb.start_lab(lab_root, work, env={"WORKBENCH_DB": str(work / "traces.duckdb")})
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = wb.launch_chromium(pw)
        yield b
        b.close()


@pytest.fixture
def net() -> wb.NetGuard:
    """Records every request; anything not to 127.0.0.1/localhost is aborted."""
    return wb.NetGuard()


@pytest.fixture
def page(browser: Any, lab: wb.LabServer, net: wb.NetGuard,
         request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    net.install(context)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        wb.screenshot(pg, f"FAILED-{request.node.name}")
    context.close()
    lab.delete_sessions()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()  # type: ignore[attr-defined]
    if rep.when == "call":
        item.rep_call = rep  # type: ignore[attr-defined]


# ---- injection figures (tests/browser/test_injection.py) --------------------------------
# The browser tier runs in its own pytest process (Makefile BROWSER_DIRS), so it writes its
# own table, like tests/faults/conftest.py does for the fault table.
INJECTION_FILE = wb.ARTIFACTS / "injection.md"
INJECTION_HEADER = ("page", "view", "payloads tried", "shown as text",
                    "executed on the page", "live handlers/URLs on the page")
_INJECTION_ROWS: list[tuple[str, ...]] = []


@pytest.fixture
def injection_report() -> Any:
    """``report(surface, view, tried, shown, executed, injected)`` adds a table row."""

    def add(surface: str, view: str, tried: int, shown: int, executed: int,
            injected: int) -> None:
        _INJECTION_ROWS.append((surface, view, str(tried), str(shown), str(executed),
                                str(injected)))

    return add


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _INJECTION_ROWS:
        return
    tried = sum(int(r[2]) for r in _INJECTION_ROWS)
    lines = ["| " + " | ".join(INJECTION_HEADER) + " |", "|" + "---|" * len(INJECTION_HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in _INJECTION_ROWS]
    surfaces = len({r[0] for r in _INJECTION_ROWS})
    executed = sum(int(r[4]) for r in {(r[0], r[4]): r for r in _INJECTION_ROWS}.values())
    shown = sum(int(r[3]) for r in _INJECTION_ROWS)
    lines += ["", f"{tried} (view, payload) pairs tried over {len(_INJECTION_ROWS)} views on "
              f"{surfaces} pages; shown as text: {shown}; payloads executed: {executed} "
              "(target 0)."]
    INJECTION_FILE.parent.mkdir(parents=True, exist_ok=True)
    INJECTION_FILE.write_text("# HTML injection in a real browser (hostile model output)\n\n"
                              + "\n".join(lines) + "\n")
    terminalreporter.section("injection figures")
    for line in lines:
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"(written to {INJECTION_FILE})")
