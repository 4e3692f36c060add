"""The DuckDB trace store: schema (migrations), recorder sink, reads, replay, SQL, recovery.

The names below are loaded on first use, so that ``workbench.store.reads`` (statements
only, which pure analysis imports) does not pull DuckDB in with the package.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.store.recorder import Recorder
    from workbench.store.replay import replay
    from workbench.store.store import Store, decode_json

__all__ = ["Recorder", "Store", "decode_json", "replay"]
_HOME = {"Recorder": "recorder", "replay": "replay", "Store": "store", "decode_json": "store"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(f"workbench.store.{_HOME[name]}"), name)
    raise AttributeError(f"module 'workbench.store' has no attribute {name!r}")
