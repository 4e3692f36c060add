"""The embedded llama.cpp server, in this process or shared through a daemon.

``xllamacpp.Server`` runs llama.cpp's own OpenAI-compatible HTTP server on a background
thread of this process, so the rest of the workbench talks to the local model exactly
as to any hosted one (through litellm, with ``api_base``). The settings that matter
for inference-scaling experiments are made explicit here:

- ``n_parallel`` slots with ``kv_unified``: without a unified KV cache llama.cpp splits
  ``n_ctx`` evenly across slots and long chains of thought get truncated.
- ``cont_batching``: parallel samples share each decode step (the throughput win).
- a bounded prompt cache (``cache_ram_mib``): unbounded, RSS grows run after run.

Logprobs need no server setting: a request's ``"logprobs": true`` returns them.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.local.config import LocalConfig, load_config
from workbench.local.state import live_daemon, probe_health

log = logging.getLogger(__name__)
HEALTH_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class LocalEndpoint:
    """How to reach a running local model: pass ``openai/<model_name>`` and ``api_base``
    to litellm (any api_key). ``params_count`` feeds FLOPs estimates."""

    api_base: str
    model_name: str
    params_count: int
    gguf_path: Path
    n_parallel: int = 8
    source: str = "in-process"  # "in-process" | "daemon"


def model_name_for(gguf: Path) -> str:
    """The name the server answers to: the file's stem, stable across restarts."""
    return gguf.stem.lower()


class LocalServer:
    """One llama.cpp server inside this process. ``start()`` blocks until the model is
    loaded and ``/health`` answers; ``stop()`` (or interpreter exit) frees it."""

    def __init__(self, config: LocalConfig | None = None) -> None:
        self.config = config if config is not None else load_config()
        self._server: Any = None
        self._api_base: str | None = None
        self._gguf: Path | None = None
        self._params_count: int | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def api_base(self) -> str:
        """``http://127.0.0.1:<port>/v1`` — what OpenAI-compatible clients want."""
        if self._api_base is None:
            raise WorkbenchError("The local server is not running: call start() first.")
        return self._api_base

    @property
    def model_name(self) -> str:
        return model_name_for(self.gguf_path)

    @property
    def gguf_path(self) -> Path:
        return self._gguf if self._gguf is not None else self.config.resolve_gguf()

    def endpoint(self) -> LocalEndpoint:
        """Everything a backend needs to call this server."""
        return LocalEndpoint(api_base=self.api_base, model_name=self.model_name,
                             params_count=self._params_count or 0, gguf_path=self.gguf_path,
                             n_parallel=self.config.n_parallel, source="in-process")

    def start(self) -> LocalServer:
        """Load the model and serve it on a free loopback port (idempotent)."""
        with self._lock:
            if self._server is not None:
                return self
            gguf = self.config.resolve_gguf()
            params_count = self.config.resolve_params_count(gguf)  # also validates the header
            server = _create_server(_common_params(self.config, gguf), gguf)
            api_base = server.listening_address.rstrip("/") + "/v1"
            self._server, self._api_base = server, api_base
            self._gguf, self._params_count = gguf, params_count
            atexit.register(self.stop)
        if not _wait_healthy(api_base, HEALTH_TIMEOUT_S):
            self.stop()
            raise WorkbenchError(
                f"The local model server started at {api_base} but /health never answered "
                f"within {HEALTH_TIMEOUT_S:.0f} s. Check free memory and the GGUF file.")
        log.info("local model %s serving at %s", gguf.name, api_base)
        return self

    def stop(self) -> None:
        """Stop serving and free the model (safe to call twice, or never started)."""
        with self._lock:
            server, self._server, self._api_base = self._server, None, None
            atexit.unregister(self.stop)
        if server is not None:
            del server  # xllamacpp's destructor terminates the loop and joins its thread

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _common_params(config: LocalConfig, gguf: Path) -> Any:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(gguf)
    params.model_alias = {model_name_for(gguf)}
    params.hostnames = ["127.0.0.1"]  # loopback only: never expose the model
    params.port = 0  # the OS picks a free port
    params.n_parallel = config.n_parallel
    params.kv_unified = True
    params.n_ctx = config.effective_n_ctx
    params.cont_batching = True
    params.cpuparams.n_threads = config.effective_threads
    params.cpuparams_batch.n_threads = config.effective_threads
    params.cache_ram_mib = config.cache_ram_mib
    params.verbosity = 1  # errors only: llama.cpp logs straight to stderr, past Python
    return params


def _create_server(params: Any, gguf: Path) -> Any:
    import xllamacpp

    try:
        return xllamacpp.Server(params)
    except RuntimeError as exc:
        raise WorkbenchError(
            f"llama.cpp could not load {gguf} ({exc}). Check that it is a complete GGUF "
            "that this xllamacpp version supports, and that enough memory is free.") from exc


def _wait_healthy(api_base: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if probe_health(api_base):
            return True
        time.sleep(0.1)
    return False


_singleton: LocalServer | None = None
_singleton_lock = threading.Lock()


def ensure_local_server(config: LocalConfig | None = None) -> LocalEndpoint:
    """An endpoint for the configured local model, starting one only if needed.

    Order: a healthy daemon serving the same GGUF (shared by CLI and notebooks), else
    this process's own server (one per process, stopped at exit). Asking for a different
    config than the running in-process server restarts it.
    """
    global _singleton
    config = config if config is not None else load_config()
    gguf = config.resolve_gguf()
    daemon = live_daemon()
    if daemon is not None and _same_file(daemon.get("gguf"), gguf):
        return LocalEndpoint(api_base=daemon["api_base"], model_name=model_name_for(gguf),
                             params_count=config.resolve_params_count(gguf), gguf_path=gguf,
                             n_parallel=int(daemon.get("n_parallel", config.n_parallel)),
                             source="daemon")
    with _singleton_lock:
        if _singleton is not None and _singleton.running and _singleton.config != config:
            _singleton.stop()
        if _singleton is None or not _singleton.running:
            _singleton = LocalServer(config).start()
        return _singleton.endpoint()


def stop_local_server() -> None:
    """Stop this process's in-process server, if any (the daemon is left alone)."""
    global _singleton
    with _singleton_lock:
        if _singleton is not None:
            _singleton.stop()
            _singleton = None


def in_process_endpoint() -> LocalEndpoint | None:
    """The in-process server's endpoint, if one runs (for status displays)."""
    server = _singleton
    return server.endpoint() if server is not None and server.running else None


def _same_file(recorded: object, gguf: Path) -> bool:
    if not isinstance(recorded, str):
        return False
    try:
        return Path(recorded).resolve() == gguf.resolve()
    except OSError:
        return False
