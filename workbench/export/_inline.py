"""Text placed inline in an exported HTML page (shared by the run and notebook exports)."""

from __future__ import annotations


def script_safe(js: str) -> str:
    """Make JS safe to place inside a <script> element."""
    return js.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")
