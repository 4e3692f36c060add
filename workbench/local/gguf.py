"""Read the few facts we need from a GGUF header, without the optional ``gguf`` package.

FLOPs estimates need a parameter count, and the UI wants a readable model name and the
trained context length. All three are in the header: the count is the sum of the tensor
shapes, so it is right for any GGUF a user points us at. Only the header is read (a
few MB for the tokenizer tables), never the tensor data.
"""

from __future__ import annotations

import functools
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from workbench.errors import WorkbenchError

_SCALARS: dict[int, str] = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f",
                            7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
_WANTED = ("general.name", "general.architecture", "general.size_label")


@dataclass(frozen=True)
class GGUFInfo:
    """What the workbench reads from a GGUF header."""

    path: Path
    name: str
    architecture: str
    params_count: int
    """Parameters used in matmuls per token (what ``2 * N`` FLOPs estimates want): every
    tensor except the input embedding table, which is a lookup, unless the model ties
    it to the output head (no ``output.weight``). For Qwen2.5-0.5B: ~494M."""
    params_total: int
    context_length: int | None
    size_label: str | None = None


def read_gguf_info(path: Path) -> GGUFInfo:
    """Parse ``path``'s header; raise WorkbenchError if it is not a readable GGUF.

    Cached per (path, size, mtime): the tokenizer tables make a parse take ~0.4 s.
    """
    try:
        st = path.stat()
    except OSError as exc:
        raise WorkbenchError(
            f"The local model file {path} does not exist or cannot be read ({exc}). "
            "Point WORKBENCH_LOCAL_GGUF or [local] gguf in workbench.toml at a .gguf file."
        ) from exc
    return _cached_info(path, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _cached_info(path: Path, size: int, mtime_ns: int) -> GGUFInfo:
    try:
        with path.open("rb") as f:
            return _parse(f, path)
    except (OSError, struct.error, UnicodeDecodeError, ValueError) as exc:
        raise WorkbenchError(
            f"Could not read {path} as a GGUF model file ({exc}). Point the local model "
            "at a valid .gguf file (WORKBENCH_LOCAL_GGUF or [local] gguf in workbench.toml)."
        ) from exc


def _parse(f: IO[bytes], path: Path) -> GGUFInfo:
    if f.read(4) != b"GGUF":
        raise ValueError("missing GGUF magic bytes")
    version = _unpack(f, "<I")
    if version < 2:
        raise ValueError(f"unsupported GGUF version {version}")
    n_tensors = _unpack(f, "<Q")
    n_kv = _unpack(f, "<Q")
    meta: dict[str, Any] = {}
    for _ in range(n_kv):
        key = _string(f)
        vtype = _unpack(f, "<I")
        keep = key in _WANTED or key.endswith(".context_length")
        value = _value(f, vtype, keep)
        if keep:
            meta[key] = value
    sizes: dict[str, int] = {}
    for _ in range(n_tensors):
        name = _string(f)
        n_dims = _unpack(f, "<I")
        dims = struct.unpack(f"<{n_dims}Q", f.read(8 * n_dims))
        f.read(12)  # tensor type (u32) + data offset (u64)
        sizes[name] = math.prod(dims)
    total = sum(sizes.values())
    lookup_only = sizes.get("token_embd.weight", 0) if "output.weight" in sizes else 0
    arch = str(meta.get("general.architecture", "unknown"))
    ctx = meta.get(f"{arch}.context_length")
    return GGUFInfo(path=path, name=str(meta.get("general.name") or path.stem),
                    architecture=arch, params_count=total - lookup_only, params_total=total,
                    context_length=int(ctx) if ctx is not None else None,
                    size_label=meta.get("general.size_label"))


def _unpack(f: IO[bytes], fmt: str) -> Any:
    size = struct.calcsize(fmt)
    data = f.read(size)
    if len(data) != size:
        raise ValueError("file ends inside the header")
    return struct.unpack(fmt, data)[0]


def _string(f: IO[bytes]) -> str:
    n = _unpack(f, "<Q")
    data = f.read(n)
    if len(data) != n:
        raise ValueError("file ends inside a string")
    return data.decode("utf-8", errors="replace")


def _value(f: IO[bytes], vtype: int, keep: bool) -> Any:
    """Read one metadata value; arrays are skipped (returned as None) unless kept."""
    if vtype in _SCALARS:
        return _unpack(f, _SCALARS[vtype])
    if vtype == _STRING:
        return _string(f)
    if vtype == _ARRAY:
        item_type = _unpack(f, "<I")
        count = _unpack(f, "<Q")
        if item_type in _SCALARS and not keep:
            f.seek(count * struct.calcsize(_SCALARS[item_type]), 1)
            return None
        items = [_value(f, item_type, keep) for _ in range(count)]
        return items if keep else None
    raise ValueError(f"unknown GGUF value type {vtype}")
