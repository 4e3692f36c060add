"""The Explorer never hangs: controls dragged mid-run many times in a real JupyterLab.

JupyterLab's default ``commsOverSubshells`` setting lets ipykernel 7 handle widget comm
messages on subshell threads with their own event loops. Before the home-loop rule
(widgets/homeloop.py) a slider released mid-run scheduled the replacement run on such a
loop, and it never woke up: the screen stayed "cancelled". Here a user drags the budget
slider, types N, clicks tabs, Stop and Run while runs stream, in a seeded random order;
after the last change the run for the controls as they are must start within a second
(the 0.3 s debounce included) and finish. The kernel's own record of when each run started
(wall clock, same machine) is read back through the kernel, not from the page.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import pytest
import wb_browser as wb
from test_explorer_scripted import open_explorer

pytestmark = pytest.mark.browser

CELL = """\
import threading, time
from widgets import Explorer, demo_backend
from workbench.tasks import get_task

task = get_task("arithmetic")
explorer = Explorer(task=task, backend=demo_backend(task, delay_s=0.03), db=":memory:")
run_starts, comm_threads = [], set()

def _record(state, stale):
    if state.started is not None and (not run_starts or run_starts[-1]["run"] != state.run_id):
        t = time.time() - (time.monotonic() - state.progress.started)
        run_starts.append({"run": state.run_id, "t": t,
                           "budget": state.started.params.get("budget_tokens"),
                           "n": state.started.params.get("n")})

explorer.live.listeners.append(_record)
for _w in explorer.controls.knobs:
    _w.observe(lambda _c: comm_threads.add(threading.current_thread().name), names="value")
explorer"""

REPORT = """\
import json
print(json.dumps({"starts": run_starts, "threads": sorted(comm_threads),
                  "hops": explorer.home.hops, "status": explorer.state.status,
                  "budget": int(round(explorer.controls.budget.value)),
                  "n": explorer.controls.n.value}))"""

_KERNEL_EXEC = """async (code) => {
  const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const f = k.requestExecute({code, silent: false, store_history: false});
  let out = '';
  f.onIOPub = (m) => { if (m.header.msg_type === 'stream') out += m.content.text; };
  await f.done;
  return out;
}"""


def kernel_print(page: Any, code: str) -> str:
    """Run ``code`` in the notebook's kernel (no cell) and return what it printed."""
    return str(page.evaluate(_KERNEL_EXEC, code))


def poll_report(page: Any, until: Any, timeout_s: float) -> dict[str, Any]:
    """The kernel's report, polled until ``until(report)`` holds (or the timeout)."""
    deadline = time.monotonic() + timeout_s
    while True:
        report: dict[str, Any] = json.loads(kernel_print(page, REPORT))
        if until(report) or time.monotonic() > deadline:
            return report
        page.wait_for_timeout(100)


def drag_budget(page: Any, fraction: float) -> None:
    """Drag the budget slider's handle to ``fraction`` of its track and release."""
    handle = page.locator(".wb-budget .noUi-handle").first
    track = page.locator(".wb-budget .noUi-target").first
    hb, tb = handle.bounding_box(), track.bounding_box()
    assert hb is not None and tb is not None
    page.mouse.move(hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2)
    page.mouse.down()
    page.mouse.move(tb["x"] + fraction * tb["width"], tb["y"] + tb["height"] / 2, steps=4)
    page.mouse.up()


def final_drag(page: Any) -> float:
    """A last drag that really changes the budget; returns when it was released (s)."""
    before = page.inner_text(".wb-budget .widget-readout").strip()
    for fraction in (0.3, 0.45, 0.15):
        drag_budget(page, fraction)
        released = float(page.evaluate("Date.now()")) / 1000.0
        if page.inner_text(".wb-budget .widget-readout").strip() != before:
            return released
    raise AssertionError(f"the budget slider did not move from {before}")


def user_action(page: Any, rng: random.Random) -> str:
    kind = rng.choice(["drag", "drag", "drag", "n", "tab", "stop", "run"])
    if kind == "drag":
        drag_budget(page, rng.uniform(0.02, 0.6))
    elif kind == "n":
        wb.set_readout(page, ".wb-n", str(rng.randint(2, 8)))
    elif kind == "tab":
        tabs = page.locator(".wb-explorer .lm-TabBar-tab")
        tabs.nth(rng.randrange(tabs.count())).click()
    elif kind == "stop":  # Stop lives on the Live tab; a disabled Stop does nothing
        page.locator(".wb-explorer .lm-TabBar-tab").first.click()
        stop = page.locator(".wb-live .wb-stop-button").first
        if stop.is_enabled():
            stop.click()
    else:
        page.locator(".wb-run-button").first.click()
    return kind


def test_controls_changed_mid_run_never_hang(page: Any, lab: wb.LabServer, lab_root: Path,
                                             net: wb.NetGuard) -> None:
    page.set_viewport_size({"width": 1400, "height": 1800})
    open_explorer(page, lab, lab_root, "scripted_no_hang.ipynb", CELL)
    wb.set_readout(page, ".wb-n", "6")  # the first run: SC@6, streaming
    page.wait_for_function("() => document.querySelector('.wb-progress-label')"
                           ".innerText.includes('running')", timeout=30_000)
    rng = random.Random(2026)
    done = []
    for _ in range(24):
        done.append(user_action(page, rng))
        page.wait_for_timeout(rng.choice([50, 150, 400, 900]))
    page.locator(".wb-explorer .lm-TabBar-tab").first.click()  # back to Live
    last_change = final_drag(page)
    report = poll_report(page, lambda r: r["starts"][-1]["t"] > last_change - 0.2, 10)
    final = report["starts"][-1]
    waited = final["t"] - last_change
    assert waited > -0.2, f"no run started after the last change (hung): {report}"
    assert waited < 1.0, f"the last run started {waited:.2f}s after the last change"
    report = poll_report(page, lambda r: r["status"] != "running", 60)
    assert report["starts"][-1] == final, "another run started after the last change"
    assert final["budget"] == report["budget"] and final["n"] == report["n"], report
    assert report["status"] == "ok", report
    readout = page.inner_text(".wb-budget .widget-readout").strip()
    assert readout == str(report["budget"])
    print(f"actions {done}; comm threads {report['threads']}; hops {report['hops']}; "
          f"runs {len(report['starts'])}; last run started {waited:.2f}s after the change")
    wb.screenshot(page, "explorer_no_hang_final")
    assert wb.error_outputs(page) == []
    assert net.blocked == [], f"requests tried to leave the machine: {net.blocked[:5]}"
