"""Code grading throughput: ms per HumanEval grade in the bubblewrap grader, against the
floor of running the same test program unconfined in one fresh interpreter.

The grader starts two sandboxes per grade (candidate and checker, see
docs/code-sandbox.md); the baseline starts one bare ``python -I -S`` per grade and runs
prompt + completion + tests in it, which is what any subprocess-per-grade harness pays at
least. Both are timed in the same run, sequentially and with two worker threads.

Run: .venv/bin/python bench/code_grader.py [--items 40] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from workbench.grading.code import check_humaneval
from workbench.grading.humaneval_program import humaneval_program
from workbench.tasks import get_task
from workbench.tasks.base import Problem


def sandboxed(p: Problem) -> bool:
    m = p.meta
    return check_humaneval(m["prompt"], p.answer, m["test"], m["entry_point"]).passed


def bare(p: Problem) -> bool:
    m = p.meta
    program = humaneval_program(m["prompt"], p.answer, m["test"], m["entry_point"])
    exe = os.path.realpath(getattr(sys, "_base_executable", "") or sys.executable)
    return subprocess.run([exe, "-I", "-S", "-B", "-c", program], capture_output=True,
                          timeout=30).returncode == 0


def timed(fn: Callable[[Problem], bool], items: list[Problem], workers: int) -> tuple[float, int]:
    """Wall ms per grade over ``items`` and how many passed."""
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        passed = sum(pool.map(fn, items))
    return (time.perf_counter() - t0) * 1000 / len(items), passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    items = get_task("humaneval").load()[: args.items]
    sandboxed(items[0])  # the once-per-process probe and library scan
    print(f"{len(items)} canonical HumanEval solutions; load average {os.getloadavg()[0]:.1f}")
    for workers in sorted({1, args.workers}):
        rows = {name: timed(fn, items, workers) for name, fn in
                (("bare interpreter", bare), ("bubblewrap grader", sandboxed))}
        for name, (ms, passed) in rows.items():
            print(f"  workers={workers} {name:18s} {ms:7.1f} ms/grade  passed {passed}/{len(items)}")
        ratio = rows["bubblewrap grader"][0] / rows["bare interpreter"][0]
        print(f"  workers={workers} ratio to bare: {ratio:.2f}x")


if __name__ == "__main__":
    main()
