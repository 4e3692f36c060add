"""The error types every layer may raise, owned by no layer in particular.

Why a module of its own: a ``WorkbenchError`` is a message for the user (what happened,
what to do), raised by techniques, tasks, analysis, the store and the backends alike. When
it lived in ``workbench.backends.base`` every one of those layers depended on the backends;
here it depends on nothing, so the import contracts in ``pyproject.toml`` can forbid
techniques and analysis from importing backends at all.
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """An error whose message is meant for the user: what happened and what to do."""


class ConfigError(WorkbenchError):
    """A ``workbench.toml`` (or ``WORKBENCH_*`` variable) that cannot be used as written.

    The message names the file and the key, and suggests the closest known key."""


__all__ = ["ConfigError", "WorkbenchError"]
