"""Offline tokenizer folders for the engine's ``--tokenizer_cache_dir``, from ComfyUI's own copies.

sd-scripts loads ``CLIPTokenizer`` for ``openai/clip-vit-large-patch14`` and ``T5TokenizerFast`` for
``google/t5-v1_1-xxl``; with ``--tokenizer_cache_dir D`` it first tries ``D/openai_clip-vit-large-patch14``
and ``D/google_t5-v1_1-xxl`` (the model id with ``/`` replaced by ``_``) and downloads only when a
folder is missing. ComfyUI ships the same real tokenizer files in its source tree
(``comfy/sd1_tokenizer/`` and ``comfy/text_encoders/t5_tokenizer/``), so no download is needed.

The only change: ComfyUI's CLIP config says ``model_max_length: 8192`` (ComfyUI chunks long
prompts itself); OpenAI's is 77, which is what the engine's CLIP-L takes.

Used by the TrainIdentityLoRA node (ComfyUI's own tree) and by ``python -m devkit.tokenizers``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

CLIP_FOLDER = "openai_clip-vit-large-patch14"
T5_FOLDER = "google_t5-v1_1-xxl"
CLIP_MAX_LENGTH = 77

# target folder -> (source folder inside the ComfyUI tree, files)
SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    CLIP_FOLDER: (
        "comfy/sd1_tokenizer",
        ("vocab.json", "merges.txt", "special_tokens_map.json", "tokenizer_config.json"),
    ),
    T5_FOLDER: (
        "comfy/text_encoders/t5_tokenizer",
        ("tokenizer.json", "special_tokens_map.json", "tokenizer_config.json"),
    ),
}


class TokenizerSourceError(RuntimeError):
    """The ComfyUI tree lacks a tokenizer file we copy."""

    __module__ = __name__.replace("\\", "/").rsplit("/", 1)[-1]  # no server path in /history


def _clip_config(raw: bytes) -> bytes:
    config = json.loads(raw)
    config["model_max_length"] = CLIP_MAX_LENGTH
    config.pop("special_tokens_map_file", None)  # a stale relative path in ComfyUI's copy
    return json.dumps(config, indent=2).encode()


def _write_if_changed(path: Path, data: bytes) -> None:
    if path.is_file() and path.read_bytes() == data:
        return
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def _remove_other_files(folder: Path, kept: tuple[str, ...]) -> None:
    """Only our files: ``from_pretrained`` also reads tokenizer.json, added_tokens.json and more
    when they are there, so a file the pack did not write could change the tokenization."""
    for path in folder.iterdir():
        if path.name not in kept or path.is_symlink():
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def ensure_tokenizers(dest: Path, comfyui_dir: Path) -> Path:
    """Write (or refresh) both tokenizer folders under ``dest`` from ``comfyui_dir``; return ``dest``."""
    dest, comfyui_dir = Path(dest), Path(comfyui_dir)
    for folder, (source, files) in SOURCES.items():
        src_dir = comfyui_dir / source
        missing = [name for name in files if not (src_dir / name).is_file()]
        if missing:
            raise TokenizerSourceError(
                f"ComfyUI's tokenizer files {missing} are missing from {src_dir}. "
                "Point COMFYUI_DIR (or --comfyui) at a ComfyUI source folder."
            )
        target = dest / folder
        target.mkdir(parents=True, exist_ok=True)
        _remove_other_files(target, files)
        for name in files:
            data = (src_dir / name).read_bytes()
            if folder == CLIP_FOLDER and name == "tokenizer_config.json":
                data = _clip_config(data)
            _write_if_changed(target / name, data)
    return dest
