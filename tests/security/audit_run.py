"""Run one experiment in a fresh process under an audit hook that logs every network step.

Usage: ``python audit_run.py DB OUT.json [API_BASE]``. The hook is installed before
anything is imported, so litellm's import, DuckDB's open, the run and the exports are all
watched. With ``API_BASE`` the run goes through litellm to that (fake) server; without it,
through the ScriptedBackend. Every ``socket.connect`` / ``socket.getaddrinfo`` /
``urllib.Request`` / ``http.client.connect`` event is written to OUT.json for the test
to judge (the hook itself only records: raising inside it would hide what was tried).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

EVENTS = ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "urllib.Request",
          "http.client.connect", "socket.sendto")
seen: list[list[Any]] = []


def host_of(event: str, args: tuple[Any, ...]) -> str | None:
    """The host an audited network event is about (None for Unix sockets and the like)."""
    if event in ("socket.connect", "socket.sendto"):
        address = args[1]
        return str(address[0]) if isinstance(address, tuple) else None
    if event == "http.client.connect":
        return str(args[1])
    if event == "urllib.Request":
        from urllib.parse import urlparse

        return urlparse(str(args[0])).hostname
    return None if args[0] is None else str(args[0])  # getaddrinfo / gethostbyname


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event in EVENTS:
        seen.append([event, host_of(event, args), repr(args)[:200]])


sys.addaudithook(_hook)


def main() -> None:
    db, out = sys.argv[1], sys.argv[2]
    api_base = sys.argv[3] if len(sys.argv) > 3 else None
    transport = sys.argv[4] if len(sys.argv) > 4 else "auto"
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import asyncio

    from workbench.api import run_experiment_async
    from workbench.backends.scripted import ScriptedBackend
    from workbench.export.html import export_run_html
    from workbench.export.parquet import export_parquet
    from workbench.runner import RunSpec

    backend: Any
    if api_base:
        from workbench.backends.litellm_adapter import LiteLLMBackend, ModelConfig

        backend = LiteLLMBackend({"fake": ModelConfig("openai/fake", api_base=api_base,
                                                      transport=transport)})
    else:
        backend = ScriptedBackend(lambda req, i: f"Adding gives {i}. The answer is {i}")
    spec = RunSpec(task="arithmetic", technique="sc", n=3, budget=32, limit=3, model="fake")
    result = asyncio.run(run_experiment_async(spec, db=db, backend=backend))
    export_parquet(db, os.path.dirname(out) + "/parquet")
    export_run_html(db, result.run_id, os.path.dirname(out) + "/run.html")
    with open(out, "w") as fh:
        json.dump({"events": seen, "samples": result.n_samples}, fh)


if __name__ == "__main__":
    main()
