"""Offline tokenizer folders built from ComfyUI's copies load in transformers with the real ids."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devkit.tokenizers import CLIP_FOLDER, T5_FOLDER, TokenizerSourceError, ensure_tokenizers


def _comfyui_dir() -> Path:
    cache = Path(os.environ.get("IDENTITY_LORA_CACHE", Path.home() / ".cache" / "flux-identity-lora"))
    path = Path(os.environ.get("COMFYUI_DIR", cache / "comfyui"))
    assert (path / "comfy").is_dir(), f"ComfyUI not found at {path}: run `make setup`"
    return path


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    return ensure_tokenizers(tmp_path_factory.mktemp("tok"), _comfyui_dir())


def test_clip_tokenizer_gives_openai_ids(tokenizer_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from transformers import CLIPTokenizer

    tok = CLIPTokenizer.from_pretrained(tokenizer_dir / CLIP_FOLDER)
    assert len(tok) == 49408
    assert tok.model_max_length == 77
    assert tok("a photo of a cat")["input_ids"] == [49406, 320, 1125, 539, 320, 2368, 49407]


def test_t5_tokenizer_gives_t5_ids(tokenizer_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from transformers import T5TokenizerFast

    tok = T5TokenizerFast.from_pretrained(tokenizer_dir / T5_FOLDER)
    assert len(tok) == 32100  # 32000 sentencepiece pieces + 100 extra ids
    out = tok("a photo of a cat", max_length=12, padding="max_length", truncation=True)
    assert out["input_ids"] == [3, 9, 1202, 13, 3, 9, 1712, 1, 0, 0, 0, 0]
    assert out["attention_mask"] == [1] * 8 + [0] * 4


def test_second_call_rewrites_nothing(tokenizer_dir):
    files = sorted(p for p in tokenizer_dir.rglob("*") if p.is_file())
    stamps = [p.stat().st_mtime_ns for p in files]
    ensure_tokenizers(tokenizer_dir, _comfyui_dir())
    assert [p.stat().st_mtime_ns for p in files] == stamps


def test_missing_comfyui_names_the_folder(tmp_path):
    with pytest.raises(TokenizerSourceError, match=str(tmp_path / "nowhere" / "comfy" / "sd1_tokenizer")):
        ensure_tokenizers(tmp_path / "out", tmp_path / "nowhere")
