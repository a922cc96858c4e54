"""The offline tokenizer folders hold only the files the pack wrote from ComfyUI's own copies."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sd_scripts_bridge.engine.comfy_tokenizers import CLIP_FOLDER, T5_FOLDER, ensure_tokenizers


def comfyui_dir() -> Path:
    cache = Path(os.environ.get("IDENTITY_LORA_CACHE", Path.home() / ".cache" / "flux-identity-lora"))
    return Path(os.environ.get("COMFYUI_DIR", cache / "comfyui"))


def test_files_the_pack_did_not_write_are_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    dest = ensure_tokenizers(tmp_path / "tokenizers", comfyui_dir())
    planted = dest / CLIP_FOLDER / "added_tokens.json"
    planted.write_text(json.dumps({"ohwx": 320}))  # would make the trigger token the word "a"
    (dest / T5_FOLDER / "tokenizer.json").write_text("{}")  # a changed file of ours
    (dest / T5_FOLDER / "extra").mkdir()
    ensure_tokenizers(dest, comfyui_dir())
    assert not planted.exists() and not (dest / T5_FOLDER / "extra").exists()
    from transformers import CLIPTokenizer, T5TokenizerFast

    assert CLIPTokenizer.from_pretrained(dest / CLIP_FOLDER)("ohwx")["input_ids"] != [49406, 320, 49407]
    assert len(T5TokenizerFast.from_pretrained(dest / T5_FOLDER)) == 32100
