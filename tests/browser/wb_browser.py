"""Real-browser harness: a JupyterLab server and Debian's Chromium, both offline.

Shared by tests/browser, tests/export and bench/stream_ui.py (imported by path, since
tests/ is not a package). The recipe is the one measured in the field notes: a token-
protected server on 127.0.0.1 with news and update checks off, Chromium from apt (never
``playwright install``, which downloads a browser), every request off the machine aborted
and recorded, and notebooks driven through ``window.jupyterapp`` (clicking cells and
pressing Shift+Enter was flaky; the command API is not).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-default-apps",
                 "--disable-domain-reliability", "--disable-client-side-phishing-detection",
                 "--metrics-recording-only", "--no-pings"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
LOCAL_SCHEMES = {"data", "blob", "about", "file"}

# User-level JupyterLab settings (same effect as overrides.json, but in a temp dir so the
# shared venv is not modified): no news fetch, no update check.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
}


def chromium_available() -> bool:
    return Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_chromium() -> str:
    """Debian's chromium, or skip (a failure in CI, so the tier never silently vanishes)."""
    import pytest

    if not chromium_available():
        reason = (f"{CHROMIUM} not found: run `make browser-deps` "
                  "(apt-get install chromium); never `playwright install`.")
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


@dataclass
class NetGuard:
    """Aborts every request that would leave the machine, and remembers them."""

    allow_file: bool = False
    allowed: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def is_local(self, url: str) -> bool:
        parsed = urlparse(url)
        if parsed.scheme in LOCAL_SCHEMES:
            return parsed.scheme != "file" or self.allow_file
        return parsed.hostname in LOCAL_HOSTS

    def handle(self, route: Any) -> None:
        url = route.request.url
        if self.is_local(url):
            self.allowed.append(url)
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def install(self, context: Any) -> None:
        context.route("**/*", self.handle)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_lab_settings(settings_dir: Path) -> None:
    for rel, value in LAB_SETTINGS.items():
        target = settings_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))


@dataclass
class LabServer:
    """A running ``jupyter lab`` on 127.0.0.1 serving ``root``."""

    proc: subprocess.Popen[bytes]
    url: str
    token: str
    root: Path
    log: Path

    def api(self, method: str, path: str) -> Any:
        req = urllib.request.Request(f"{self.url}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?token={self.token}&reset"

    def delete_sessions(self) -> int:
        """Shut every kernel down (between tests: no state leaks, no CPU burnt)."""
        sessions = self.api("GET", "/api/sessions") or []
        for s in sessions:
            self.api("DELETE", f"/api/sessions/{s['id']}")
        for k in self.api("GET", "/api/kernels") or []:
            self.api("DELETE", f"/api/kernels/{k['id']}")
        return len(sessions)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def start_lab(root: Path, work: Path, env: dict[str, str] | None = None,
              timeout_s: float = 60.0) -> LabServer:
    """Start JupyterLab on a free loopback port; return once its API answers."""
    token, port = secrets.token_hex(16), free_port()
    settings = work / "lab-settings"
    write_lab_settings(settings)
    (work / "workspaces").mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings),
                "JUPYTERLAB_WORKSPACES_DIR": str(work / "workspaces"),
                "JUPYTER_RUNTIME_DIR": str(work / "runtime"),
                "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
                **(env or {})}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabServerApp.extension_manager=readonly",
           "--ServerApp.open_browser=False", "--ServerApp.terminals_enabled=False"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI runners
        cmd.append("--allow-root")
    log = work / "jupyterlab.log"
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            env=full_env, cwd=root)
    server = LabServer(proc, f"http://127.0.0.1:{port}", token, root, log)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited ({proc.returncode}):\n{log.read_text()}")
        try:
            server.api("GET", "/api/status")
            return server
        except OSError:
            time.sleep(0.25)
    server.stop()
    raise RuntimeError(f"jupyter lab did not answer in {timeout_s}s:\n{log.read_text()}")


def copy_notebooks(tmp: Path) -> Path:
    """A temp copy of notebooks/ (tests never write into the repo's notebooks) beside a
    link to the repo's data/ (notebooks read ``../data/...``); returns the copy."""
    root = tmp / "repo"
    src = REPO / "notebooks"
    if src.is_dir():
        shutil.copytree(src, root / "notebooks",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.duckdb*"))
    else:
        (root / "notebooks").mkdir(parents=True)
    if (REPO / "data").is_dir():
        (root / "data").symlink_to(REPO / "data", target_is_directory=True)
    return root / "notebooks"


def launch_chromium(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS)


# ---- driving JupyterLab ---------------------------------------------------------------

_WAIT_NOTEBOOK = """async (name) => {
  const app = window.jupyterapp;
  const deadline = Date.now() + 45000;
  let w = null;
  while (Date.now() < deadline) {
    w = app && app.shell.currentWidget;
    if (w && w.context && w.context.path.endsWith(name) && w.sessionContext) break;
    await new Promise(r => setTimeout(r, 100));
  }
  if (!w || !w.sessionContext) throw new Error('notebook ' + name + ' did not open');
  await w.context.ready;
  await w.sessionContext.ready;
  while (Date.now() < deadline) {
    const k = w.sessionContext.session && w.sessionContext.session.kernel;
    if (k && k.status === 'idle') return k.status;
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error('kernel never became idle');
}"""

_KERNEL_IDLE = """async () => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w.sessionContext.session.kernel;
  return k.status;
}"""


def open_notebook(page: Any, lab: LabServer, name: str) -> None:
    """Open ``name`` in JupyterLab and wait until its kernel is idle."""
    page.goto(lab.notebook_url(name), wait_until="domcontentloaded")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell",
                           timeout=45_000)
    page.evaluate(_WAIT_NOTEBOOK, name)


def run_all_cells(page: Any) -> None:
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")


def wait_kernel_idle(page: Any, timeout_s: float = 60.0, settle_s: float = 0.5) -> None:
    """Wait until the kernel stays idle for ``settle_s`` (run-all queues many cells)."""
    deadline = time.monotonic() + timeout_s
    idle_since: float | None = None
    while time.monotonic() < deadline:
        status = page.evaluate(_KERNEL_IDLE)
        now = time.monotonic()
        if status == "idle":
            idle_since = idle_since or now
            if now - idle_since >= settle_s:
                return
        else:
            idle_since = None
        page.wait_for_timeout(100)
    raise TimeoutError(f"kernel still busy after {timeout_s}s")


def error_outputs(page: Any) -> list[str]:
    """Texts of error outputs shown in the current notebook."""
    return page.eval_on_selector_all(
        ".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']",
        "els => els.map(e => e.innerText.slice(0, 2000))")


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/browser/ and return its path."""
    target = ARTIFACTS / "browser" / f"{name}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    return target


# ---- driving the Explorer (stable classes from widgets/: wb-n, wb-budget, wb-path, ...) ---

def set_readout(page: Any, css: str, value: str) -> None:
    """Type ``value`` into a slider's editable readout (how a user sets an exact value)."""
    readout = page.locator(f"{css} .widget-readout").first
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(value)
    page.keyboard.press("Enter")


def path_texts(page: Any) -> list[str]:
    """Texts of the top-level path cards (forced answers / verifier cards are nested)."""
    return page.eval_on_selector_all(
        ".wb-paths > .wb-path > .wb-path-text", "els => els.map(e => e.textContent)")


def progress_label(page: Any) -> str:
    return str(page.inner_text(".wb-progress-label"))


def watch_run(page: Any, before: str, timeout_s: float = 45.0, every_s: float = 0.15
              ) -> list[int]:
    """Sample the total streamed text length from the moment the progress label leaves
    ``before`` (the label before the action that starts a run) until the run is over.

    Over means: the label no longer says "running" and at least one card exists. The
    samples show whether text arrived over time (streaming) or all at once."""
    page.wait_for_function(
        "(before) => { const e = document.querySelector('.wb-progress-label');"
        " return e && e.innerText !== before; }", arg=before, timeout=timeout_s * 1000)
    totals: list[int] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        texts = path_texts(page)
        totals.append(sum(len(t) for t in texts))
        label = progress_label(page)
        if texts and "running" not in label and "Idle" not in label:
            return totals
        page.wait_for_timeout(int(every_s * 1000))
    raise TimeoutError(f"run not finished after {timeout_s}s: {progress_label(page)!r}")


def growth_steps(totals: list[int]) -> int:
    """How many times the streamed text grew between samples."""
    return sum(1 for a, b in zip(totals, totals[1:], strict=False) if b > a)


def press_slider_key(page: Any, css: str, key: str) -> None:
    """Move a slider with the keyboard (Home/End/ArrowLeft...): works for SelectionSlider,
    whose readout is not parsed back from typed text."""
    page.locator(f"{css} .noUi-handle").first.focus()
    page.keyboard.press(key)
