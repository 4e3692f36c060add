"""Trace browser: filter runs, or type read-only SQL, then click a row to open its paths.

User-typed SQL goes through ``Store.sql`` (one SELECT, read-only transaction, no file
access: see workbench/store/sql.py); the filter dropdowns use library SQL with bound
parameters. A clicked row with a ``run_id`` is replayed from the store into the detail
view (focused on its ``sample_id`` when the row has one): no model is called.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import ipywidgets as W
import polars as pl
import traitlets

from widgets.homeloop import HomeLoop
from widgets.live import LiveView
from workbench.errors import WorkbenchError
from workbench.events import Event, RunFinished, RunStarted
from workbench.htmltext import Markup, html
from workbench.store.queries import EXAMPLE_SQL
from workbench.techniques.registry import names

if TYPE_CHECKING:
    from workbench.store.store import Store

STATIC = Path(__file__).parent / "static"
MAX_ROWS = 200
ANY = "(any)"
SQL_TIMEOUT_S = 5.0
"""Time limit of SQL typed in the browser (a runaway query must not freeze the kernel)."""

def cell(value: Any) -> Any:
    """A JSON-safe, short table cell."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, decimal.Decimal):  # DuckDB sum() of BIGINT
        value = int(value) if value == value.to_integral_value() else float(value)
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, 4)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat(sep=" ", timespec="seconds") \
            if isinstance(value, dt.datetime) else value.isoformat()
    text = str(value)
    return text if len(text) <= 200 else text[:199] + "…"


def error_html(exc: BaseException | str) -> Markup:
    """A red error line. DuckDB errors quote the offending cell (model text): escaped."""
    return html('<span class="wb-error-text" style="color:#d62728">{}</span>', str(exc))


def table_rows(frame: pl.DataFrame, limit: int = MAX_ROWS) -> list[list[Any]]:
    return [[cell(v) for v in row] for row in frame.head(limit).iter_rows()]


class TableWidget(anywidget.AnyWidget):
    """A clickable table; ``selected`` is the clicked row index (-1 for none)."""

    _esm = STATIC / "table.js"
    _css = STATIC / "table.css"
    columns = traitlets.List(traitlets.Unicode()).tag(sync=True)
    rows = traitlets.List(traitlets.List()).tag(sync=True)
    selected = traitlets.Int(-1).tag(sync=True)
    note = traitlets.Unicode("").tag(sync=True)


def sample_events(events: list[Event], sample_id: str | None) -> list[Event]:
    """A replay cut down to one item (plus the run's start and end)."""
    if sample_id is None:
        return events
    return [e for e in events if isinstance(e, RunStarted | RunFinished)
            or getattr(e, "sample_id", None) == sample_id]


class TraceBrowser(W.VBox):
    """Runs table with filters, a SQL box, and a detail view of the clicked row."""

    sql_timeout_s: float | None = SQL_TIMEOUT_S  # set per browser for heavier queries

    def __init__(self, store: Store | None, *, task: str | None = None, model: str | None = None,
                 home: HomeLoop | None = None, **kwargs: Any) -> None:
        self.store = store
        self.home = home or HomeLoop()
        style = {"description_width": "70px"}
        self.technique = W.Dropdown(options=[ANY, *names()], value=ANY,
                                    description="technique", style=style)
        self.model = W.Text(value=model or "", placeholder=ANY, description="model",
                            style=style)
        self.task = W.Text(value=task or "", placeholder=ANY, description="task", style=style)
        self.filter_button = W.Button(description="Show runs", icon="filter")
        self.filter_button.add_class("wb-filter-button")
        self.sql_box = W.Textarea(value=EXAMPLE_SQL, layout=W.Layout(  # 100% + margins
            width="auto", align_self="stretch", height="80px"))        # would overflow
        self.sql_box.add_class("wb-sql")
        self.sql_button = W.Button(description="Run SQL", icon="database")
        self.sql_button.add_class("wb-sql-button")
        self.message = W.HTML("")
        self.message.add_class("wb-browser-message")
        self.table = TableWidget()
        self.table.add_class("wb-results")
        self.detail = LiveView(progress=False, home=self.home)
        self.detail.add_class("wb-browser-detail")
        self._frame = pl.DataFrame()
        self.showing_runs = False
        on_home = self.home.wrap  # clicks may arrive on a subshell thread; DuckDB is not
        self.filter_button.on_click(on_home(lambda _b: self.show_runs()))  # shared there
        self.sql_button.on_click(on_home(lambda _b: self.run_sql(self.sql_box.value)))
        self.table.observe(on_home(self._on_select), names="selected")
        filters = W.HBox([self.technique, self.model, self.task, self.filter_button],
                         layout=W.Layout(flex_flow="row wrap"))  # no sideways scroll at 1000 px
        super().__init__([filters,
                          self.sql_box, self.sql_button, self.message, self.table,
                          self.detail], **kwargs)
        self.add_class("wb-browser")
        if store is not None:
            self.show_runs()

    @property
    def frame(self) -> pl.DataFrame:
        """The polars DataFrame shown in the table (all rows, not only the first 200)."""
        return self._frame

    def show_runs(self) -> pl.DataFrame:
        """Runs matching the filters, newest first, with accuracy and tokens."""
        tech = None if self.technique.value == ANY else self.technique.value
        model = self.model.value.strip() or None
        task = self.task.value.strip() or None
        frame = self._show(lambda store: store.browse_runs(tech, model, task))
        self.showing_runs = True
        return frame

    def run_sql(self, sql: str) -> pl.DataFrame:
        """User SQL through the store's read-only path (errors shown, never raised)."""
        self.showing_runs = False
        return self._show(lambda store: store.sql(sql, timeout=self.sql_timeout_s))

    def _show(self, query: Callable[[Store], pl.DataFrame]) -> pl.DataFrame:
        if self.store is None:
            self.message.value = "No store: create the Explorer with db=... to browse traces."
            return self._frame
        try:
            frame = query(self.store)
        except WorkbenchError as exc:
            self.message.value = error_html(exc)
            return self._frame
        self._frame = frame
        self.message.value = ""
        self.table.selected = -1
        self.table.columns = [str(c) for c in frame.columns]
        self.table.rows = table_rows(frame)
        self.table.note = (f"showing {MAX_ROWS} of {frame.height} rows"
                           if frame.height > MAX_ROWS else f"{frame.height} rows")
        return frame

    def refresh(self) -> None:
        """Re-query the runs view after a run landed (a user's SQL result is left alone)."""
        if self.showing_runs:
            self.show_runs()

    def open_row(self, index: int) -> None:
        """Replay the clicked row's run (and item) into the detail view."""
        if (self.store is None or not 0 <= index < self._frame.height
                or "run_id" not in self._frame.columns):
            return
        row = self._frame.row(index, named=True)
        sample_id = row.get("sample_id")
        from workbench.store.replay import replay

        try:
            events = replay(self.store, str(row["run_id"]))
        except WorkbenchError as exc:
            self.message.value = error_html(exc)
            return
        self.detail.show(sample_events(events, sample_id), focus=sample_id)

    def _on_select(self, change: dict[str, Any]) -> None:
        if change["new"] >= 0:
            self.open_row(change["new"])
