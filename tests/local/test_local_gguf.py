"""Reading name, parameter count and context length from GGUF headers."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.errors import WorkbenchError
from workbench.local.gguf import read_gguf_info


def test_tied_embeddings_count_once(tmp_path: Path, tiny_gguf) -> None:
    path = tiny_gguf(tmp_path / "tied.gguf", {"token_embd.weight": (16, 100),
                                              "blk.0.attn_q.weight": (16, 16),
                                              "output_norm.weight": (16,)})
    info = read_gguf_info(path)
    assert info.params_count == info.params_total == 1600 + 256 + 16
    assert (info.name, info.architecture, info.context_length) == ("Tiny", "llama", 4096)


def test_untied_embedding_lookup_is_not_compute(tmp_path: Path, tiny_gguf) -> None:
    path = tiny_gguf(tmp_path / "untied.gguf", {"token_embd.weight": (16, 100),
                                                "blk.0.attn_q.weight": (16, 16),
                                                "output.weight": (16, 100)})
    info = read_gguf_info(path)
    assert info.params_total == 3456
    assert info.params_count == 3456 - 1600


@pytest.mark.parametrize("content", [b"", b"NOPE" + bytes(40), b"GGUF\x03\x00\x00\x00"])
def test_not_a_gguf(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.gguf"
    path.write_bytes(content)
    with pytest.raises(WorkbenchError, match="as a GGUF model file"):
        read_gguf_info(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="does not exist"):
        read_gguf_info(tmp_path / "absent.gguf")


@pytest.mark.local_model
def test_bundled_model_header(real_gguf: Path) -> None:
    info = read_gguf_info(real_gguf)
    assert info.architecture == "qwen2"
    assert info.params_count == 494_032_768  # Qwen2.5-0.5B's published ~494M
    assert info.context_length == 32768
