"""Open the trace store for an export, whatever the caller holds.

Exports take a path *or* an open :class:`~workbench.store.store.Store`: a path is opened
read-only (so exporting never migrates or locks out a writer for long), unless this
process already holds the file open, in which case that Store is reused (DuckDB allows
one read-write process per file and a second connection from the same process would fail).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from workbench.store.store import Store


@contextmanager
def store_for(source: Store | str | Path) -> Iterator[Store]:
    """Yield a Store for ``source`` (a Store, or a database path); close it only if we
    opened it."""
    from workbench.store.store import Store, open_store_for

    if isinstance(source, Store):
        yield source
        return
    if not isinstance(source, str | Path):
        raise WorkbenchError(f"Expected a database path or a Store, got {type(source).__name__}.")
    if not Path(source).is_file():
        raise WorkbenchError(f"Trace database {source} does not exist; pass the .duckdb file "
                             "that the run was recorded into (see `workbench runs`).")
    held = open_store_for(source)
    if held is not None:
        yield held
        return
    store = Store.open(source, read_only=True)
    try:
        yield store
    finally:
        store.close()
