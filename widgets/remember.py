"""Where the Explorer remembers: the CLI's trace file unless told otherwise.

Why: a quickstart that keeps nothing cannot recompute SC@4 from the 8 paths it just drew,
cannot pick "random wrong" items and has no Traces tab. So with no ``db=`` the Explorer
records into the same file the CLI uses (``$WORKBENCH_DB`` or ``./traces.duckdb``), and
``db=":memory:"`` is the explicit opt-out. If another process holds the file (DuckDB has
one writer), runs go to a spool merged later, and the Explorer says so; if the default
file cannot be opened at all, the Explorer still works, in memory, and says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.htmltext import html

MEMORY = ":memory:"


@dataclass
class Remembered:
    """The store an Explorer uses, whether it opened it (and must close it), and a note."""

    store: Any
    own: bool
    note: str = ""

    @property
    def where(self) -> str:
        """The file the runs land in, or ":memory:" (what the title line shows)."""
        return str(getattr(self.store, "path", MEMORY)) if self.store is not None else MEMORY


def open_store(db: str | Path | None, store: Any = None) -> Remembered:
    """``store`` as given; else ``db`` (an explicit path must open: errors are raised);
    else the CLI's default file, falling back to memory with a note if it cannot open."""
    from workbench.store.spool import main_path_of
    from workbench.store.store import Store, default_db_path

    if store is not None:
        return Remembered(store, own=False)
    if db is not None:
        opened = Store.open(db, spool_if_locked=str(db) != MEMORY)
        return Remembered(opened, own=True, note=_spool_note(opened, main_path_of(opened)))
    path = default_db_path()
    try:
        opened = Store.open(path, spool_if_locked=True)
    except WorkbenchError as exc:
        note = (f"could not open the trace file {path} ({exc}); this session records in "
                "memory only. Pass db=PATH to choose another file.")
        return Remembered(Store.open(MEMORY), own=True, note=note)
    return Remembered(opened, own=True, note=_spool_note(opened, main_path_of(opened)))


def _spool_note(store: Any, main: str | None) -> str:
    if main is None:
        return ""
    return (f"{main} is in use by another process: runs are recorded in {store.path} and "
            "merged into it later; instant recompute and the Traces tab see this session's "
            "runs only.")


def title_html(task: str, problems: int, remembered: Remembered) -> str:
    """The Explorer's title line: task, size and where its runs are kept."""
    where = remembered.where
    keep = ("in memory only (not kept)" if where == MEMORY
            else html("traces in <code>{}</code>", where))
    note = (html('<div class="wb-store-note">{}</div>', remembered.note)
            if remembered.note else "")
    return str(html('<b>Inference Workbench</b> · task <code>{}</code> · {} problems · '
                    '<span class="wb-store-where">{}</span>{}', task, problems, keep, note))
