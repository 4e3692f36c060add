"""Which GGUF `local` means and how the server is sized, from files and the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.errors import WorkbenchError
from workbench.local.config import CTX_PER_SLOT, LocalConfig, load_config, user_config_path


def test_defaults(tmp_cache: Path) -> None:
    config = load_config()
    assert config.gguf is None and config.n_parallel == 8
    assert config.effective_n_ctx == 8 * CTX_PER_SLOT
    assert config.effective_threads >= 1
    assert config.sources == ("defaults",)


def test_project_file_overrides_user_file(tmp_cache: Path, tmp_path: Path, write_toml) -> None:
    write_toml(user_config_path(), """
        [local]
        n_parallel = 4
        threads = 3
        gguf = "/models/user.gguf"
    """)
    write_toml(tmp_path / "workbench.toml", """
        [models.other]
        model = "openai/other"
        [local]
        n_parallel = 16
        gguf = "models/project.gguf"
    """)
    config = load_config()
    assert config.n_parallel == 16 and config.threads == 3
    assert config.gguf == (tmp_path / "models" / "project.gguf").resolve()  # relative to file
    assert config.effective_n_ctx == 16 * CTX_PER_SLOT
    assert len(config.sources) == 3


def test_env_gguf_wins(tmp_cache: Path, tmp_path: Path, write_toml,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    write_toml(tmp_path / "workbench.toml", '[local]\ngguf = "/a.gguf"\nn_ctx = 4096\n')
    monkeypatch.setenv("WORKBENCH_LOCAL_GGUF", "~/b.gguf")
    config = load_config()
    assert config.gguf == Path("~/b.gguf").expanduser()
    assert config.effective_n_ctx == 4096
    assert config.sources[-1] == "WORKBENCH_LOCAL_GGUF"


@pytest.mark.parametrize("body, match", [
    ("[local]\nn_paralel = 4\n", "Unknown key"),
    ("[local]\nn_parallel = 0\n", "positive integer"),
    ("[local]\nthreads = true\n", "positive integer"),
    ("[local]\ngguf = 3\n", "file path string"),
    ("local = 3\n", "must be a table"),
    ("[local\n", "Fix the TOML syntax"),
])
def test_bad_config_is_a_clear_error(tmp_cache: Path, tmp_path: Path, write_toml, body: str,
                                     match: str) -> None:
    write_toml(tmp_path / "workbench.toml", body)
    with pytest.raises(WorkbenchError, match=match):
        load_config()


def test_missing_configured_gguf(tmp_path: Path) -> None:
    config = LocalConfig(gguf=tmp_path / "nope.gguf", sources=("defaults", "test"))
    with pytest.raises(WorkbenchError, match="does not exist"):
        config.resolve_gguf()


def test_params_count_from_header_or_config(tmp_path: Path, tiny_gguf) -> None:
    path = tiny_gguf(tmp_path / "t.gguf", {"token_embd.weight": (8, 10), "blk.0.w": (8, 8)})
    assert LocalConfig(gguf=path).resolve_params_count(path) == 144
    assert LocalConfig(gguf=path, params_count=7).resolve_params_count(path) == 7
