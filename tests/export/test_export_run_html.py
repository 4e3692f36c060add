"""export_run_html: one offline file with the run's summary, figures, paths, votes, rounds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import wb_browser as wb

from workbench.errors import WorkbenchError
from workbench.export import export_run_html, run_report_html
from workbench.store.store import Store

EXTERNAL_SRC = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)
SCRIPT_BODY = re.compile(r"(<script[^>]*>).*?</script>", re.S | re.I)


def test_report_has_every_part_of_the_run(recorded: Store, tmp_path: Path) -> None:
    out = export_run_html(recorded, "refine-run", tmp_path / "r" / "report.html")
    page = out.read_text(encoding="utf-8")
    assert page.count('class="wb-report-item"') == 3
    assert page.count('class="wb-report-path') == 3 * (3 + 2 * 2)  # paths + critique/refine
    assert "<h4>Vote</h4>" in page and "<h4>Refinement rounds</h4>" in page
    assert "Check step 2." in page  # the critique text
    assert "refine-run" in page and "accuracy" in page and "3/3 = 100.0%" in page
    assert page.count('class="wb-report-figure"') == 4  # per-item, lengths, votes, rounds


def test_report_is_self_contained(recorded: Store) -> None:
    page = run_report_html(recorded, "refine-run")
    markup = SCRIPT_BODY.sub(r"\1</script>", page)  # inlined JS may mention URLs
    assert EXTERNAL_SRC.search(markup) is None
    assert all(" src" not in tag.lower() for tag in SCRIPT_BODY.findall(page))
    assert "cdn.plot.ly" not in markup and "cdn.jsdelivr" not in markup
    assert "Plotly.newPlot" in page and len(page) > 3_000_000  # plotly.js inlined


def test_model_text_is_escaped(recorded: Store) -> None:
    page = run_report_html(recorded, "hostile-run")
    assert "window.__pwned" in page  # the text is shown ...
    assert '<img src=x onerror="window.__pwned=1">' not in page  # ... but never as markup
    assert "<script>window.__pwned" not in page


def test_unknown_run_and_missing_file_say_what_to_do(recorded: Store, tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="No run 'nope'.*workbench runs"):
        export_run_html(recorded, "nope", tmp_path / "x.html")
    with pytest.raises(WorkbenchError, match="does not exist"):
        export_run_html(tmp_path / "missing.duckdb", "refine-run", tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()


def test_export_from_a_path_reuses_or_opens_the_store(recorded: Store, tmp_path: Path) -> None:
    db = Path(recorded.path)
    # held open read-write by this process: the open Store is reused, not reopened
    reused = export_run_html(db, "refine-run", tmp_path / "a.html")
    recorded.close()
    opened = export_run_html(db, "refine-run", tmp_path / "b.html")  # opened read-only
    assert reused.read_text() == opened.read_text()


@pytest.mark.browser
def test_report_renders_with_network_blocked(recorded: Store, tmp_path: Path,
                                             open_offline) -> None:  # type: ignore[no-untyped-def]
    out = export_run_html(recorded, "hostile-run", tmp_path / "hostile.html")
    view = open_offline(out)
    page = view.page
    page.wait_for_selector(".js-plotly-plot .main-svg")
    assert page.locator(".js-plotly-plot").count() == 3  # no rounds in this run
    page.locator("details.wb-report-item summary").first.click()
    assert page.locator(".wb-report-path").first.is_visible()
    assert page.evaluate("() => window.__pwned === undefined")
    wb.screenshot(page, "export_run_report")
    assert view.errors == []
    assert view.external_requests(out) == []
