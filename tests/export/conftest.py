"""Fixtures for the export tests: a recorded synthetic run, and an offline Chromium.

The browser fixtures reuse tests/browser/wb_browser.py (imported by path: tests/ is not a
package). Exported pages are opened from file:// with every request blocked except the
page itself, so "renders" here means "renders with no network at all".
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from workbench.store.recorder import Recorder
from workbench.store.store import Store
from workbench.store.synthetic import synthetic_run

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "browser"))

import wb_browser as wb  # noqa: E402

HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> '


@pytest.fixture
def recorded(tmp_path: Path) -> Iterator[Store]:
    """A file store with two runs: ``refine-run`` (votes + 2 rounds, 3 items x 3 paths) and
    ``hostile-run`` whose model text tries to inject HTML and script."""
    store = Store.open(tmp_path / "traces.duckdb")
    rec = Recorder(store)
    for event in synthetic_run("refine-run", n_items=3, n_paths=3, rounds=2):
        rec(event)
    for event in synthetic_run("hostile-run", n_items=2, n_paths=2,
                               text=HOSTILE + "The answer is 4."):
        rec(event)
    yield store
    store.close()


@pytest.fixture(scope="session")
def offline_browser() -> Iterator[Any]:
    wb.require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = wb.launch_chromium(pw)
        yield browser
        browser.close()


@dataclass
class OfflinePage:
    page: Any
    net: wb.NetGuard
    errors: list[str]

    def external_requests(self, document: Path) -> list[str]:
        """Every request other than the document itself (data:/blob: are in-page)."""
        own = document.resolve().as_uri()
        others = [u for u in self.net.allowed if u != own
                  and not u.startswith(("data:", "blob:"))]
        return others + self.net.blocked


@pytest.fixture
def open_offline(offline_browser: Any) -> Iterator[Callable[[Path], OfflinePage]]:
    """Open a local HTML file with the network blocked; collect page errors."""
    contexts: list[Any] = []

    def _open(path: Path) -> OfflinePage:
        net = wb.NetGuard(allow_file=True)
        context = offline_browser.new_context(viewport={"width": 1300, "height": 900})
        contexts.append(context)
        net.install(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(path.resolve().as_uri(), wait_until="load")
        return OfflinePage(page, net, errors)

    yield _open
    for context in contexts:
        context.close()
