"""The DuckDB trace store: schema (migrations), recorder sink, reads, replay, SQL, recovery."""

from workbench.store.recorder import Recorder
from workbench.store.replay import replay
from workbench.store.store import Store, decode_json

__all__ = ["Recorder", "Store", "decode_json", "replay"]
