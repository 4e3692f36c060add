"""Fixtures for the local-model tests: an isolated cache, fake weight parts, tiny GGUFs."""

from __future__ import annotations

import hashlib
import struct
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from workbench.local.weights import WeightPart, WeightSpec


@pytest.fixture(scope="session")
def real_gguf() -> Path:
    """The bundled GGUF in the user's real cache, assembled once (fails if not installed)."""
    from workbench.local.weights import ensure_weights

    return ensure_weights()


@pytest.fixture
def tmp_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point WORKBENCH_CACHE (and XDG config) at a temp dir so no test touches ~/.cache."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("WORKBENCH_CACHE", str(cache))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("WORKBENCH_LOCAL_GGUF", raising=False)
    monkeypatch.chdir(tmp_path)
    return cache


FakeParts = Callable[..., tuple[WeightSpec, bytes]]


@pytest.fixture
def fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeParts]:
    """Install small fake part packages on sys.path and return a spec pinned to them.

    Packages are named so text order differs from numeric order (p10 < p2 as text).
    """
    site = tmp_path / "site"
    monkeypatch.syspath_prepend(str(site))
    counter = iter(range(1_000_000))

    def make(sizes: tuple[int, ...] = (3000, 5000, 1234), sha256: str | None = None
             ) -> tuple[WeightSpec, bytes]:
        tag = next(counter)
        parts, blobs = [], []
        for i, size in zip((1, 2, 10), sizes, strict=False):
            package = f"wbfake{tag}_p{i}"
            data = bytes((i * 31 + j + tag) % 251 for j in range(size))
            (site / package / "data").mkdir(parents=True)
            (site / package / "__init__.py").write_text("")
            (site / package / "data" / "part.bin").write_bytes(data)
            parts.append(WeightPart(package, "data/part.bin", size))
            blobs.append(data)
        whole = b"".join(blobs)
        spec = WeightSpec(filename=f"fake{tag}.gguf", size=len(whole),
                          sha256=sha256 or hashlib.sha256(whole).hexdigest(),
                          parts=tuple(parts))
        return spec, whole

    yield make


def _gguf_string(s: str) -> bytes:
    raw = s.encode()
    return struct.pack("<Q", len(raw)) + raw


def write_tiny_gguf(path: Path, tensors: dict[str, tuple[int, ...]], name: str = "Tiny",
                    arch: str = "llama", context_length: int = 4096) -> Path:
    """A header-only GGUF v3 with a few metadata keys and tensor infos (no tensor data)."""
    kvs = [
        _gguf_string("general.architecture") + struct.pack("<I", 8) + _gguf_string(arch),
        _gguf_string("general.name") + struct.pack("<I", 8) + _gguf_string(name),
        _gguf_string(f"{arch}.context_length") + struct.pack("<I", 4)
        + struct.pack("<I", context_length),
        # an array of strings and one of ints, like a tokenizer table, to be skipped
        _gguf_string("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 3)
        + b"".join(_gguf_string(t) for t in ("a", "bb", "ccc")),
        _gguf_string("tokenizer.ggml.token_type") + struct.pack("<IIQ", 9, 5, 3)
        + struct.pack("<3i", 1, 1, 1),
    ]
    infos = [_gguf_string(t) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
             + struct.pack("<IQ", 0, 0) for t, dims in tensors.items()]
    header = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    path.write_bytes(header + b"".join(kvs) + b"".join(infos))
    return path


@pytest.fixture
def tiny_gguf() -> Callable[..., Path]:
    """The header-only GGUF writer, as a fixture (test modules here are not a package)."""
    return write_tiny_gguf


@pytest.fixture
def write_toml() -> Callable[[Path, str], Path]:
    """Write a dedented TOML file, creating parent directories."""

    def write(path: Path, body: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body))
        return path

    return write
