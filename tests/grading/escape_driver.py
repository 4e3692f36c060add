"""Grade a list of completions in a process of its own and report what happened.

Why a separate process: the escape tests need a grader whose *initial* environment holds
a canary API key (what ``/proc/<ppid>/environ`` shows), whose cwd and home hold a trace
database, and which runs as root or, through ``setpriv``, as an unprivileged user. Only
the standard library and ``workbench.grading.code`` are imported, so the machine's plain
``python3`` can run it as ``nobody``.

stdin: JSON ``{"item": {prompt, test, entry_point}, "cases": [{name, completion,
marker}], "limits": {...}}``. stdout: one JSON object per case. While a case is graded a
thread watches every process on the host for the case's marker (a process name the
candidate gives its children), so the tests can tell both that the children really
existed and that none of them outlived the grade.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import asdict

from workbench.grading.code import SandboxLimits, check_humaneval


def processes_named(marker: str) -> list[int]:
    """Live (non-zombie) host processes whose name is ``marker``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        name = stat[stat.find("(") + 1:stat.rfind(")")]
        state = stat[stat.rfind(")") + 2:][:1]
        if name == marker and state not in ("Z", "X"):
            found.append(int(entry))
    return found


def grade(item: dict, case: dict, limits: SandboxLimits) -> dict:
    marker = case.get("marker")
    peak, stop = [0], threading.Event()

    def watch() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], len(processes_named(marker)))
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    if marker:
        watcher.start()
    try:
        result = check_humaneval(item["prompt"], case["completion"], item["test"],
                                 item["entry_point"], limits)
    finally:
        stop.set()
    if marker:
        watcher.join()
    alive = processes_named(marker) if marker else []
    return {"name": case["name"], **asdict(result), "peak": peak[0], "alive_after": alive,
            "grader_uid": os.geteuid()}


def main() -> None:
    job = json.loads(sys.stdin.read())
    limits = SandboxLimits(**job.get("limits", {}))
    for case in job["cases"]:
        print(json.dumps(grade(job["item"], case, limits)), flush=True)


if __name__ == "__main__":
    main()
