"""Offline tokenizer folders for the demo engine, from the test host's ComfyUI tree.

The work is ``sd_scripts_bridge.engine.comfy_tokenizers`` (the node uses it too); this module adds the
demo's default folders and a CLI: ``python -m devkit.tokenizers [--dest DIR] [--comfyui DIR]``; pass
the folder to ``python -m sd_scripts_bridge install --tokenizers DIR``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from sd_scripts_bridge.engine.comfy_tokenizers import (
    CLIP_FOLDER,
    T5_FOLDER,
    TokenizerSourceError,
)
from sd_scripts_bridge.engine.comfy_tokenizers import ensure_tokenizers as _ensure_tokenizers

from .cache import cache_root

__all__ = ["CLIP_FOLDER", "T5_FOLDER", "TokenizerSourceError", "ensure_tokenizers"]


def default_comfyui_dir() -> Path:
    configured = os.environ.get("COMFYUI_DIR")
    return Path(configured) if configured else cache_root() / "comfyui"


def default_dest() -> Path:
    return cache_root() / "tokenizers"


def ensure_tokenizers(dest: Path | None = None, comfyui_dir: Path | None = None) -> Path:
    """Both tokenizer folders under ``dest`` (default: the demo cache) from ComfyUI's tree."""
    return _ensure_tokenizers(dest or default_dest(), comfyui_dir or default_comfyui_dir())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit.tokenizers", description=__doc__.split("\n")[0])
    parser.add_argument("--dest", type=Path, default=None, help=f"default: {default_dest()}")
    parser.add_argument("--comfyui", type=Path, default=None, help=f"default: {default_comfyui_dir()}")
    args = parser.parse_args(argv)
    try:
        print(ensure_tokenizers(args.dest, args.comfyui))
    except TokenizerSourceError as err:
        print(f"error: {err}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
