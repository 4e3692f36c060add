"""A user's own problems from a JSONL or CSV file, or a polars DataFrame.

Why strict: a run over hundreds of items should not fail (or silently mis-grade) at item
317 because of a typo in a column name. Everything is checked when the task is built and
every error says which file, which line or column, and how to fix it.

Required columns: ``question`` and ``answer``; optional ``id`` (unique). Any other column
is kept in ``Problem.meta``. Numeric answers grade as numbers, others through math-verify
or case-insensitive text (see :class:`workbench.tasks.formats.AutoFormat`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.errors import WorkbenchError
from workbench.tasks.base import Problem
from workbench.tasks.formats import AutoFormat, ProblemSetTask

if TYPE_CHECKING:
    import polars as pl

REQUIRED = ("question", "answer")
SUFFIXES = (".jsonl", ".csv")


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise WorkbenchError(f"task file {path} does not exist; check the path.") from None
    except IsADirectoryError:
        raise WorkbenchError(f"task file {path} is a directory; give a .jsonl or .csv file."
                             ) from None
    except OSError as exc:
        raise WorkbenchError(f"cannot read task file {path}: {exc.strerror or exc}.") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WorkbenchError(
            f"task file {path} is not UTF-8 (bad byte at offset {exc.start}); re-save it as "
            "UTF-8.") from None
    if not text.strip():
        raise WorkbenchError(f"task file {path} is empty; it needs a header/row per problem "
                             f"with columns {', '.join(REQUIRED)}.")
    return text


def _read_jsonl(path: Path, text: str) -> list[dict[str, Any]]:
    rows = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise WorkbenchError(f"{path}, line {lineno}: not valid JSON ({exc.msg}); each "
                                 "line must be one JSON object.") from None
        if not isinstance(row, dict):
            raise WorkbenchError(f"{path}, line {lineno}: expected a JSON object like "
                                 '{"question": ..., "answer": ...}.')
        row["_line"] = lineno
        rows.append(row)
    return rows


FIELD_LIMIT_CHARS = 16 * 1024 * 1024
"""Longest CSV value accepted (long-context questions fit; Python's default is 128 KiB)."""


def _read_csv(path: Path, text: str) -> list[dict[str, Any]]:
    """Rows with ``_line``: the line where the row *starts* (a quoted value may span lines),
    which is also the line an error names: the line a user has to look at."""
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT_CHARS))
    reader = csv.DictReader(io.StringIO(text))
    rows: list[dict[str, Any]] = []
    start = 1
    try:
        _ = reader.fieldnames  # reads the header (its own line or lines)
        start = reader.line_num + 1
        for row in reader:
            if None in row:
                raise WorkbenchError(f"{path}, line {start}: more values than "
                                     "header columns; quote values that contain commas.")
            row_dict: dict[str, Any] = {k.strip(): v for k, v in row.items() if k is not None}
            row_dict["_line"] = start
            rows.append(row_dict)
            start = reader.line_num + 1
    except csv.Error as exc:
        hint = ("; a quote that is never closed makes the rest of the file one value"
                if "field limit" in str(exc) or "unexpected end" in str(exc) else "")
        raise WorkbenchError(f"{path}, line {start}: malformed CSV ({exc}){hint}.") from None
    return rows


def _as_text(value: Any) -> str:
    """Answers may be numbers in JSON/frames: 18 -> "18", 2.50 -> "2.5", None -> ""."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _to_problems(rows: list[dict[str, Any]], source: str) -> list[Problem]:
    if not rows:
        raise WorkbenchError(f"{source} has no problems; it needs columns "
                             f"{', '.join(REQUIRED)}.")
    columns = set().union(*(r.keys() for r in rows)) - {"_line"}
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise WorkbenchError(
            f"{source} lacks column(s) {', '.join(missing)}; found "
            f"{', '.join(sorted(columns)) or 'none'}. Rename your columns to 'question' and "
            "'answer' (an 'id' column is optional).")
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        where = f"{source}, line {row['_line']}" if "_line" in row else f"{source}, row {index}"
        question, answer = _as_text(row.get("question")), _as_text(row.get("answer"))
        if not question or not answer:
            field = "question" if not question else "answer"
            raise WorkbenchError(f"{where}: empty {field}; every problem needs both.")
        item_id = _as_text(row.get("id")) or str(index)
        if item_id in seen:
            raise WorkbenchError(f"{where}: id {item_id!r} is already used by item "
                                 f"{seen[item_id]}; ids must be unique.")
        seen[item_id] = index
        meta = {k: v for k, v in row.items() if k not in ("question", "answer", "id", "_line")}
        problems.append(Problem(id=item_id, index=index, question=question, answer=answer,
                                meta=meta))
    return problems


def _make_task(name: str, problems: list[Problem], description: str) -> ProblemSetTask:
    fmt = AutoFormat.for_answers([p.answer for p in problems])
    kind = "numeric answers" if fmt.numeric else "math/text answers"
    return ProblemSetTask(name=name, kind="math", licence="user-provided",
                          description=f"{description} ({len(problems)} items, {kind})",
                          format=fmt, loader=lambda: problems)


def task_from_file(path: str | Path) -> ProblemSetTask:
    """A task from a .jsonl or .csv file. The task's name is the path as given, so that
    ``get_task(task.name)`` rebuilds it; the description carries a content hash."""
    p = Path(path).expanduser()
    suffix = p.suffix.lower()
    if suffix not in SUFFIXES:
        raise WorkbenchError(f"task file {p} must end in .jsonl or .csv.")
    text = _read_text(p)
    rows = _read_jsonl(p, text) if suffix == ".jsonl" else _read_csv(p, text)
    problems = _to_problems(rows, str(p))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    return _make_task(str(path), problems, f"user file {p.name} (sha256 {digest})")


def task_from_frame(df: pl.DataFrame, name: str = "user") -> ProblemSetTask:
    """A task from a polars DataFrame with ``question`` and ``answer`` (optional ``id``)."""
    import polars as pl  # imported here: polars costs ~0.5 s and file tasks don't need it

    if not isinstance(df, pl.DataFrame):
        raise WorkbenchError(f"task_from_frame needs a polars DataFrame, got "
                             f"{type(df).__name__}; convert with polars.from_pandas(df).")
    if df.height == 0:
        raise WorkbenchError(f"DataFrame {name!r} has no rows; it needs columns "
                             f"{', '.join(REQUIRED)}.")
    problems = _to_problems(df.to_dicts(), f"DataFrame {name!r}")
    return _make_task(name, problems, f"user DataFrame {name!r}")
