"""The network guard of the security tests (a module, so tests can import its helpers).

An audit hook records every connection attempt and name lookup while armed; audit hooks
cannot be removed, so it is installed once, on import, and stays idle otherwise.
"""

from __future__ import annotations

import sys
from typing import Any

LOOPBACK = {"127.0.0.1", "::1", "localhost", "0.0.0.0"}
_armed: list[list[tuple[str, str | None]]] = []


def _host(event: str, args: tuple[Any, ...]) -> str | None:
    if event == "socket.connect":
        address = args[1]
        return str(address[0]) if isinstance(address, tuple) else None  # None: Unix socket
    return None if not args or args[0] is None else str(args[0])


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if _armed and event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname"):
        _armed[-1].append((event, _host(event, args)))


sys.addaudithook(_hook)


def off_box(log: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """Entries that reach beyond this machine (anything but loopback or a Unix socket)."""
    return [(e, h) for e, h in log if h is not None and h not in LOOPBACK]


NetLog = list[tuple[str, str | None]]


def arm(log: NetLog) -> None:
    _armed.append(log)


def disarm(log: NetLog) -> None:
    _armed.remove(log)
