"""The Explorer inside a real IPython kernel (nbclient): the kernel's loop runs the work.

What only a kernel shows: a control change schedules the debounced run with call_later on
the kernel's running loop (no asyncio.run), a cell returns while the run goes on, Stop
cancels it and the kernel answers the next cell at once, and the widget state saved into
the notebook holds no API key.
"""

from __future__ import annotations

import json
import os
import textwrap

import nbclient
import nbformat
import pytest

pytestmark = pytest.mark.notebook

CANARY = "sk-canary-7d0c5e2a91"
CELLS = [
    """
    import asyncio, time
    from widgets import Explorer, demo_backend
    from workbench.tasks import get_task
    task = get_task("arithmetic")
    ex = Explorer(task=task, backend=demo_backend(task, delay_s=0.002), db=":memory:")
    ex.debounce_s = 0.1
    ex
    """,
    """
    t0 = time.monotonic()
    ex.controls.n.value = 4          # what a slider release does: debounce, then run
    print("returned_in_s", round(time.monotonic() - t0, 3))
    """,
    """
    await asyncio.sleep(0.5)
    await ex.wait()
    print("first", ex.state.status, ex.state.summary()["done"], len(ex.live.paths.paths))
    """,
    """
    ex.backend = demo_backend(task, delay_s=0.05)
    ex.controls.budget.value = 1024
    await asyncio.sleep(0.6)
    running = ex.state.status
    ex.live.progress.stop_button.click()
    t0 = time.monotonic()
    await ex.wait()
    print("stop", running, ex.state.status, round(time.monotonic() - t0, 3))
    """,
    "import os; print('responsive', os.environ.get('OPENAI_API_KEY', '')[:10])",
    # a slider released on another thread's loop mid-run (what a kernel subshell does)
    """
    import threading
    sub = asyncio.new_event_loop()
    threading.Thread(target=sub.run_forever, daemon=True).start()
    ex.backend = demo_backend(task, delay_s=0.01)
    ex.controls.budget.value = 181
    await asyncio.sleep(0.4)
    sub.call_soon_threadsafe(setattr, ex.controls.budget, "value", 128)
    await asyncio.sleep(0.05)
    await asyncio.wait_for(ex.wait(), 30)
    print("subshell", ex.state.status, ex.state.started.params["budget_tokens"], ex.home.hops)
    sub.call_soon_threadsafe(sub.stop)
    """,
]


def test_explorer_runs_on_the_kernel_loop(tmp_path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(textwrap.dedent(c).strip()) for c in CELLS]
    env = {**os.environ, "OPENAI_API_KEY": CANARY}
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     store_widget_state=True, resources={
                                         "metadata": {"path": str(tmp_path)}})
    old = os.environ.get("OPENAI_API_KEY")
    os.environ["OPENAI_API_KEY"] = CANARY  # the kernel inherits our environment
    try:
        client.execute(env=env)
    finally:
        if old is None:
            os.environ.pop("OPENAI_API_KEY", None)
        else:
            os.environ["OPENAI_API_KEY"] = old
    out = ["".join(o.get("text", "") for o in c.outputs) for c in nb.cells]
    returned = float(out[1].split()[1])
    assert returned < 0.05  # the cell did not wait for the run
    assert out[2].split() == ["first", "ok", "1", "4"]
    _, running, status, waited = out[3].split()
    assert (running, status) == ("running", "cancelled") and float(waited) < 1.0
    assert out[4].split() == ["responsive", CANARY[:10]]  # the key was there to leak
    assert out[5].split()[:3] == ["subshell", "ok", "128"] and int(out[5].split()[3]) >= 1
    # the static snapshot beside the widget followed the runs (update_display_data)
    html_out = [o for o in nb.cells[0].outputs if "text/html" in o.get("data", {})]
    assert len(html_out) == 1 and "wb-snapshot" in html_out[0]["data"]["text/html"]
    assert "ok · sc" in html_out[0]["data"]["text/html"]
    state = json.dumps(nb.metadata["widgets"])
    assert "wb-explorer" in state and "wb-paths-widget" in state
    assert CANARY not in state
