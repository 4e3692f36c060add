"""Errors that end a whole run, not just one sample.

Why a class of its own: a bad API key (401), a key without access to the model (403) or a
model the provider does not know (404) fail every request the same way. Sending the
remaining items only repeats the refusal (and, with a provider that bills or rate-limits
refusals, costs something). The adapter raises :class:`FatalModelError` for these; the
runner records the sample that met it, sends no further items, and marks the run
``failed`` so ``workbench run --resume`` can send the rest once the key is fixed.
"""

from __future__ import annotations

from workbench.errors import WorkbenchError

FATAL_KINDS = ("authentication", "permissiondenied", "notfound")
"""Exception class-name fragments (litellm, openai and our HTTP transport) that are fatal."""


class FatalModelError(WorkbenchError):
    """A model error no retry and no other item can fix (see the module docstring)."""


def is_fatal(exc: BaseException) -> bool:
    """True for authentication / permission / model-not-found errors."""
    names = " ".join(c.__name__.lower() for c in type(exc).__mro__)
    return any(kind in names for kind in FATAL_KINDS)
