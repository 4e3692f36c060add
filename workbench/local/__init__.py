"""The embedded local model: verified weights, config, and a llama.cpp server."""

from typing import TYPE_CHECKING, Any

from workbench.local.config import LocalConfig, load_config
from workbench.local.gguf import GGUFInfo, read_gguf_info
from workbench.local.server import (
    LocalEndpoint,
    LocalServer,
    ensure_local_server,
    stop_local_server,
)
from workbench.local.weights import DEFAULT_WEIGHTS, ensure_weights, weights_available

if TYPE_CHECKING:
    from workbench.local.daemon import daemon_status, local_status, start_daemon, stop_daemon

_DAEMON_EXPORTS = ("daemon_status", "local_status", "start_daemon", "stop_daemon")


def __getattr__(name: str) -> Any:
    # Imported lazily so `python -m workbench.local.daemon` does not find its own module
    # already imported by this package (runpy warns about that).
    if name in _DAEMON_EXPORTS:
        from workbench.local import daemon

        return getattr(daemon, name)
    raise AttributeError(f"module 'workbench.local' has no attribute {name!r}")


__all__ = [
    "DEFAULT_WEIGHTS",
    "GGUFInfo",
    "LocalConfig",
    "LocalEndpoint",
    "LocalServer",
    "daemon_status",
    "ensure_local_server",
    "ensure_weights",
    "load_config",
    "local_status",
    "read_gguf_info",
    "start_daemon",
    "stop_daemon",
    "stop_local_server",
    "weights_available",
]
