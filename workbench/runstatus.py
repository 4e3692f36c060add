"""What a finished run's outcome is called, how it is explained, and what exit code it gives.

Why one module: the runner decides the stored status, the CLI turns it into an exit code
and a console message, and ``workbench runs`` / the Explorer show it; they must agree.

A run's final status (stored in ``run_status``; see docs/schema.md):

* ``ok``: every sample ran (the model answered; answers may still be wrong);
* ``partial``: some samples failed (provider faults after retries): the others are stored;
* ``failed``: every sample failed, or a fatal error stopped the run (a bad key, a model the
  provider does not know): the remaining items were not sent (resume runs them);
* ``error`` (a bug or a sink failure), ``cancelled`` (Ctrl-C or the stop button) and
  ``interrupted`` (the process died; written by the next writer that opens the file).

Exit codes of ``workbench run`` / ``sweep`` / ``demo`` (the worst run decides):

====  ==========================================================================
0     ok: every sample ran
1     internal error (a bug: the traceback is printed)
2     usage or bad input: nothing ran (bad option, unknown task/model, missing key,
      unreadable or locked database)
3     partial: some samples failed (their errors are stored)
4     failed: every sample failed (rate limits, server errors, connection refused ...)
5     fatal: authentication / permission / model-not-found stopped the run
130   interrupted by Ctrl-C (finished samples are saved; resume with --resume)
====  ==========================================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

OK, PARTIAL, FAILED = "ok", "partial", "failed"
FINAL = (OK, PARTIAL, FAILED, "error", "cancelled", "interrupted")

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2
EXIT_PARTIAL, EXIT_FAILED, EXIT_FATAL, EXIT_INTERRUPTED = 3, 4, 5, 130
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "ok: every sample ran",
    EXIT_INTERNAL: "internal error (a bug; traceback printed)",
    EXIT_USAGE: "usage or bad input: nothing ran",
    EXIT_PARTIAL: "partial: some samples failed",
    EXIT_FAILED: "failed: every sample failed",
    EXIT_FATAL: "fatal: authentication / permission / model-not-found stopped the run",
    EXIT_INTERRUPTED: "interrupted by Ctrl-C",
}
_SEVERITY = (EXIT_OK, EXIT_PARTIAL, EXIT_FAILED, EXIT_FATAL, EXIT_INTERNAL)
_DIGITS = re.compile(r"\d+(\.\d+)?")


def signature(error: str) -> str:
    """Errors that differ only in numbers (ports, attempts, ids, timings) group together."""
    return _DIGITS.sub("#", error)[:200]


def final_status(samples: int, failed: int, fatal: bool) -> str:
    """The stored status of a run that ended normally (counts include resumed parts)."""
    if fatal or (samples and failed >= samples):
        return FAILED
    return PARTIAL if failed else OK


def exit_code(result: Any) -> int:
    """The exit code for one finished run (a :class:`workbench.runner.RunResult`)."""
    if getattr(result, "fatal", None):
        return EXIT_FATAL
    return {OK: EXIT_OK, PARTIAL: EXIT_PARTIAL, FAILED: EXIT_FAILED}.get(
        result.status, EXIT_INTERNAL)


def worst_exit_code(results: Iterable[Any]) -> int:
    """Several runs (``workbench demo``): the most severe outcome decides."""
    codes = [exit_code(r) for r in results]
    return max(codes, key=_SEVERITY.index, default=EXIT_OK)


def error_lines(counts: Mapping[str, int], limit: int = 3, width: int = 300) -> list[str]:
    """The first distinct errors, most frequent first: ``"12 x RateLimitError: ..."``."""
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    lines = [f"{n} x {text[:width]}" for text, n in ranked[:limit]]
    rest = sum(n for _, n in ranked[limit:])
    if rest:
        lines.append(f"{rest} more in {len(ranked) - limit} other distinct error(s)")
    return lines


def describe(result: Any, limit: int = 3) -> str:
    """One paragraph on what failed in a run (empty for a clean ``ok``)."""
    head = []
    if getattr(result, "fatal", None):
        head.append(f"stopped after a fatal error; {result.n_not_run} item(s) not sent")
    if result.n_errors:
        head.append(f"{result.n_errors} of {result.n_samples} sample(s) failed")
    if not head:
        return ""
    lines = error_lines(result.error_counts, limit)
    return "; ".join(head) + (": " + " | ".join(lines) if lines else "")


def runs_table(store: Any, last: int | None = None) -> Any:
    """One row per stored run (``workbench runs``): :meth:`Store.runs_table`."""
    return store.runs_table(last)
