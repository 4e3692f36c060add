"""Reversible mapping of Python text onto valid UTF-8, and JSON for the store's JSON columns.

Why: DuckDB VARCHAR (and Arrow, and polars) must be valid UTF-8, but a Python ``str`` may
hold lone surrogates (U+D800..U+DFFF), e.g. from a provider that split an emoji's surrogate
pair across stream chunks. Refusing them would lose a trace; replacing them would make
replay differ from what was seen live. So they are escaped reversibly:

* ``ESC`` = U+10FFFF (a Unicode noncharacter, valid in UTF-8) starts an escape;
* a lone surrogate U+D800+k becomes ``ESC`` + chr(U+100000 + k) (plane-16 private use);
* a literal ``ESC`` in the text becomes ``ESC ESC``.

Everything else (CJK, emoji, RTL, NUL, ...) is stored unchanged, so stored text equals the
original whenever it has no lone surrogate and no U+10FFFF. Frames returned by the store
keep the escaped form (polars cannot hold lone surrogates); :func:`decode_text` and replay
undo it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from typing import Any

ESC = "\U0010ffff"
_SURR_BASE = 0xD800
_PUA_BASE = 0x100000
_NEEDS_ESCAPE = re.compile("[\ud800-\udfff\U0010ffff]")
_ESCAPED = re.compile("\U0010ffff([\U0010ffff\U00100000-\U001007ff])")


def _escape_one(m: re.Match[str]) -> str:
    ch = m.group(0)
    if ch == ESC:
        return ESC + ESC
    return ESC + chr(_PUA_BASE + ord(ch) - _SURR_BASE)


def _unescape_one(m: re.Match[str]) -> str:
    ch = m.group(1)
    if ch == ESC:
        return ESC
    return chr(_SURR_BASE + ord(ch) - _PUA_BASE)


def encode_text(s: str) -> str:
    """Text as stored: valid UTF-8, reversible with :func:`decode_text`."""
    if s.isascii():
        return s
    return _NEEDS_ESCAPE.sub(_escape_one, s)


def decode_text(s: str) -> str:
    """Undo :func:`encode_text` (a no-op for text that needed no escaping)."""
    if ESC not in s:
        return s
    return _ESCAPED.sub(_unescape_one, s)


def encode_opt(s: str | None) -> str | None:
    """:func:`encode_text` that passes ``None`` through (nullable columns)."""
    return None if s is None else encode_text(s)


def decode_opt(s: str | None) -> str | None:
    """:func:`decode_text` that passes ``None`` through."""
    return None if s is None else decode_text(s)


def _default(obj: Any) -> Any:
    """JSON for the things a technique spec may hold that json does not know."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, set | frozenset):
        return sorted(obj, key=repr)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "backslashreplace")
    return repr(obj)


def _finite(obj: Any) -> Any:
    """Replace NaN/inf (invalid JSON, refused by DuckDB) with their names as strings."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def dumps_json(obj: Any) -> str | None:
    """JSON text for a JSON column (``None`` stays SQL NULL), lone surrogates escaped."""
    if obj is None:
        return None
    try:
        text = json.dumps(obj, ensure_ascii=False, default=_default, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(obj), ensure_ascii=False, default=_default, allow_nan=False)
    return encode_text(text)


def loads_json(text: str | None) -> Any:
    """Decode a stored JSON column value (the inverse of :func:`dumps_json`)."""
    if text is None:
        return None
    return json.loads(decode_text(text))
