"""Find the sd-scripts engine for the demo, or install it with the bridge's own installer.

Order: an engine already installed at ``IDENTITY_LORA_ENGINE`` (or the bridge's default folder);
otherwise ``python -m sd_scripts_bridge install`` into that folder, from the local checkout named
by ``IDENTITY_LORA_ENGINE_SRC`` (offline machines) or from the public repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from devkit.tokenizers import ensure_tokenizers
from sd_scripts_bridge.engine.folder import engine_root_from, locate_engine, tokenizer_cache_dir
from sd_scripts_bridge.engine.pins import ENGINE_COMMIT
from sd_scripts_bridge.errors import EngineNotInstalledError
from sd_scripts_bridge.model import Engine

SOURCE_ENV = "IDENTITY_LORA_ENGINE_SRC"
REPO_ROOT = Path(__file__).resolve().parents[1]


class EngineSetupError(RuntimeError):
    """The engine is neither installed nor installable here; the message says what to do."""


def install_command(root: Path, tokenizers: Path, source: Path | None) -> list[str]:
    """The bridge's install command for ``root`` (argument list, run from the repository root)."""
    argv = [sys.executable, "-m", "sd_scripts_bridge", "install", "--engine", str(root)]
    argv += ["--tokenizers", str(tokenizers)]
    if source is not None:
        argv += ["--from", str(source)]
        if not (source / ".git").exists():  # an exported tree: its key files are checked against the pin
            argv += ["--assume-commit", ENGINE_COMMIT]
    return argv


def ensure_engine(tokenizers: Path, say: Callable[[str], None] = print) -> Engine:
    """The installed engine, installing it first when needed; raises EngineSetupError."""
    root = engine_root_from(None)
    try:
        engine = locate_engine(root)
    except EngineNotInstalledError:
        engine = _install(root, tokenizers, say)
    if tokenizer_cache_dir(engine) is None:
        # the layout `install --tokenizers` writes; the node passes it as --tokenizer_cache_dir
        ensure_tokenizers(engine.root / "tokenizers")
        say(f"added the offline tokenizers to {engine.root / 'tokenizers'}")
    return engine


def _install(root: Path, tokenizers: Path, say: Callable[[str], None]) -> Engine:
    source = os.environ.get(SOURCE_ENV)
    source_path = Path(source).expanduser() if source else None
    if source_path is not None and not (source_path / "flux_train_network.py").is_file():
        raise EngineSetupError(
            f"{SOURCE_ENV}={source_path} is not an sd-scripts checkout (no flux_train_network.py there); "
            "point it at a copy of kohya-ss/sd-scripts at the pinned commit"
        )
    argv = install_command(root, tokenizers, source_path)
    origin = source_path or "the public kohya-ss/sd-scripts repository"
    say(f"installing the engine into {root} from {origin} (a few minutes): {' '.join(argv)}")
    done = subprocess.run(argv, cwd=REPO_ROOT, check=False)
    if done.returncode != 0:
        raise EngineSetupError(
            f"the engine install failed (exit {done.returncode}); its output is above. Offline machines: "
            f"set {SOURCE_ENV} to a local sd-scripts checkout, or IDENTITY_LORA_ENGINE to an installed engine"
        )
    return locate_engine(root)
