"""Writing the result of ``workbench sql``: a capped table, or streamed CSV / JSON / Parquet.

Why streaming: a result is read as Arrow record batches straight from DuckDB's streaming
result (``workbench.store.sql.batches``), and each batch is written and dropped, so
``select * from range(10000000)`` goes out in seconds and in bounded memory instead of
being materialised as one frame first.

Why the table is capped: a terminal table of ten million rows is useless and used to take
gigabytes. The table shows the first ``max_rows`` rows and says how many more there are;
counting those goes on reading the same stream (no second execution, constant memory) but
only for :data:`COUNT_BUDGET_S` seconds, after which it says "more than N" rather than
spending unbounded time on a number nobody asked for.

Files named with ``--out`` are written to ``<out>.partial`` and renamed when complete: an
interrupted or failed query never leaves a truncated file under the name asked for.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import polars as pl
import pyarrow as pa

from workbench.errors import WorkbenchError
from workbench.store.sql import Relation, batches

FORMATS = ("table", "csv", "json", "parquet")
COUNT_BUDGET_S = 2.0
"""Longest time spent counting the rows a capped table leaves out."""


def writer_for(fmt: str, out: str | None, max_rows: int
               ) -> Callable[[Relation], str | None]:
    """The consumer for ``stream_readonly_sql``; it returns a note for stderr (or None)."""
    if fmt not in FORMATS:
        raise WorkbenchError(f"unknown --format {fmt!r}; use one of {', '.join(FORMATS)}.")
    if fmt == "table":
        if out is not None:
            raise WorkbenchError("--out writes csv, json or parquet; add --format csv "
                                 "(or parquet / json).")
        if max_rows < 1:
            raise WorkbenchError(f"--max-rows must be at least 1; got {max_rows}.")
        return lambda rel: write_table(rel, max_rows)
    if fmt == "parquet" and out is None and sys.stdout.isatty():
        raise WorkbenchError("Parquet is binary: give --out FILE.parquet (or redirect "
                             "stdout to a file).")
    return lambda rel: write_stream(rel, fmt, out)


def write_table(rel: Relation, max_rows: int) -> str | None:
    """Print at most ``max_rows`` rows; return the "N more rows" note if there were more."""
    from workbench.summary import print_table

    with batches(rel, rows=max(max_rows + 1, 1024)) as reader:
        kept: list[pa.RecordBatch] = []
        have = 0
        for batch in reader:
            kept.append(batch)
            have += batch.num_rows
            if have > max_rows:
                break
        table = pa.Table.from_batches(kept, schema=reader.schema)
        print_table(_frame(table.slice(0, max_rows)))
        if have <= max_rows:
            return None
        more, exact = _count_rest(reader, have - max_rows)
    amount = f"{more:,}" if exact else f"more than {more:,}"
    return (f"{amount} more rows not shown (the table shows the first {max_rows:,}); "
            "use --format csv/parquet (with --out FILE) for all of them, --max-rows N, or "
            "LIMIT in the query.")


def _count_rest(reader: pa.RecordBatchReader, already: int) -> tuple[int, bool]:
    """Rows left in the stream, counted for at most :data:`COUNT_BUDGET_S` seconds."""
    until = time.monotonic() + COUNT_BUDGET_S
    count = already
    for batch in reader:
        count += batch.num_rows
        if time.monotonic() > until:
            return count, False
    return count, True


def write_stream(rel: Relation, fmt: str, out: str | None) -> str | None:
    """Stream every row as CSV, JSON (one array) or Parquet to ``out`` or stdout."""
    rows = 0
    with batches(rel) as reader, _target(out, binary=fmt == "parquet") as sink:
        if fmt == "parquet":
            rows = _parquet(reader, sink)
        elif fmt == "csv":
            rows = _csv(reader, sink)
        else:
            for chunk, n in _json_chunks(reader):
                sink.write(chunk)
                rows += n
    return f"wrote {rows:,} rows to {out}" if out is not None else None


def _csv(reader: pa.RecordBatchReader, sink: IO[Any]) -> int:
    """CSV as polars writes it (header once), straight into ``sink`` batch by batch."""
    rows, header = 0, True
    for batch in reader:
        if batch.num_rows or header:
            _frame(pa.Table.from_batches([batch], schema=reader.schema)).write_csv(
                sink, include_header=header)
            header = False
        rows += batch.num_rows
    if header:  # no batch at all: an empty result still gets its header line
        _frame(reader.schema.empty_table()).write_csv(sink)
    return rows


def _json_chunks(reader: pa.RecordBatchReader) -> Iterator[tuple[str, int]]:
    """One JSON array of row objects, written a batch at a time."""
    sep = "["
    for batch in reader:
        if batch.num_rows:
            body = _frame(pa.Table.from_batches([batch], schema=reader.schema)).write_json()
            yield sep + body[1:-1], batch.num_rows
            sep = ","
    yield ("[" if sep == "[" else "") + "]\n", 0


def _parquet(reader: pa.RecordBatchReader, sink: IO[Any]) -> int:
    import pyarrow.parquet as pq

    rows = 0
    with pq.ParquetWriter(sink, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


def _frame(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


@contextmanager
def _target(out: str | None, binary: bool) -> Iterator[IO[Any]]:
    """stdout, or ``<out>.partial`` renamed to ``out`` only if everything was written."""
    if out is None:
        stream: IO[Any] = sys.stdout.buffer if binary else sys.stdout
        yield stream
        stream.flush()
        return
    final = Path(out)
    partial = final.with_name(final.name + ".partial")
    try:
        handle = open(partial, "wb" if binary else "w", newline="" if not binary else None,
                      encoding=None if binary else "utf-8")
    except OSError as exc:
        raise WorkbenchError(f"cannot write {out}: {exc.strerror or exc}.") from None
    try:
        with handle:
            yield handle
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
