"""The embedded local model: verified weights, config, and a llama.cpp server.

Every export is imported lazily (PEP 562): importing the package imports none of its
submodules, so ``python -m workbench.local.weights`` (or ``.daemon``) does not find its own
module already imported by the package, which makes runpy print a RuntimeWarning.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.local.config import LocalConfig, load_config
    from workbench.local.daemon import daemon_status, local_status, start_daemon, stop_daemon
    from workbench.local.gguf import GGUFInfo, read_gguf_info
    from workbench.local.server import (
        LocalEndpoint,
        LocalServer,
        ensure_local_server,
        stop_local_server,
    )
    from workbench.local.weights import DEFAULT_WEIGHTS, ensure_weights, weights_available

_EXPORTS = {
    "LocalConfig": "config", "load_config": "config",
    "daemon_status": "daemon", "local_status": "daemon", "start_daemon": "daemon",
    "stop_daemon": "daemon",
    "GGUFInfo": "gguf", "read_gguf_info": "gguf",
    "LocalEndpoint": "server", "LocalServer": "server", "ensure_local_server": "server",
    "stop_local_server": "server",
    "DEFAULT_WEIGHTS": "weights", "ensure_weights": "weights",
    "weights_available": "weights",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'workbench.local' has no attribute {name!r}")
    return getattr(import_module(f"workbench.local.{module}"), name)


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
