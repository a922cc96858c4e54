"""Find an installed engine folder and tell which sd-scripts code it holds.

An engine folder (made by ``install``) holds ``sd-scripts/`` (the unmodified source),
``venv/`` (its own Python, never ComfyUI's) and ``engine.json`` (what was installed, when,
and from which commit). It is found through, in order: an explicit path (``--engine`` or the
node's input), the ``IDENTITY_LORA_ENGINE`` environment variable, or the pack's git-ignored
``engine/`` folder.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import EngineNotInstalledError, WrongEngineCommitError
from ..model import Engine
from . import platform_compat
from .pins import ENGINE_COMMIT, FINGERPRINT

ENGINE_ENV_VAR = "IDENTITY_LORA_ENGINE"
ENGINE_INFO_FILE = "engine.json"
SOURCE_DIR_NAME = "sd-scripts"
VENV_DIR_NAME = "venv"
TOKENIZER_DIR_NAME = "tokenizers"
TRAIN_SCRIPT = "flux_train_network.py"
PACK_ROOT = Path(__file__).resolve().parents[2]


def default_engine_root() -> Path:
    """The pack's own ``engine/`` folder (listed in .gitignore)."""
    return PACK_ROOT / "engine"


def venv_python(venv_dir: Path) -> Path:
    """The interpreter inside a virtual environment, on Windows and elsewhere."""
    return platform_compat.venv_python(venv_dir)


def engine_at(root: Path | str) -> Engine:
    """Describe the engine folder at ``root`` without checking that it is complete."""
    root = Path(root).expanduser().resolve()
    info = read_engine_info(root)
    source_dir = root / SOURCE_DIR_NAME
    commit = info.get("commit") or checkout_commit(source_dir)
    return Engine(root=root, source_dir=source_dir, python=venv_python(root / VENV_DIR_NAME), commit=commit)


def engine_root_from(explicit: Path | str | None, environ: Mapping[str, str] | None = None) -> Path:
    """Which folder to use: explicit path, then ``IDENTITY_LORA_ENGINE``, then the pack default."""
    environ = os.environ if environ is None else environ
    if explicit:
        return Path(explicit).expanduser()
    if environ.get(ENGINE_ENV_VAR):
        return Path(environ[ENGINE_ENV_VAR]).expanduser()
    return default_engine_root()


def locate_engine(explicit: Path | str | None = None, environ: Mapping[str, str] | None = None) -> Engine:
    """The installed engine, or :class:`EngineNotInstalledError` naming what is missing."""
    root = engine_root_from(explicit, environ)
    if not root.is_dir():
        raise EngineNotInstalledError(root, "no engine folder here")
    engine = engine_at(root)
    if not engine.train_script.is_file():
        raise EngineNotInstalledError(engine.train_script, f"{TRAIN_SCRIPT} is missing")
    if not engine.python.is_file():
        raise EngineNotInstalledError(engine.python, "its virtual environment is missing")
    return engine


def tokenizer_cache_dir(engine: Engine) -> Path | None:
    """The offline tokenizer folder ``install --tokenizers`` wrote, if any."""
    folder = engine.root / TOKENIZER_DIR_NAME
    return folder if folder.is_dir() else None


def read_engine_info(root: Path) -> dict[str, Any]:
    """``engine.json`` as a dict ({} when absent or unreadable: doctor reports that separately)."""
    try:
        return json.loads((Path(root) / ENGINE_INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_engine_info(root: Path, info: Mapping[str, Any]) -> Path:
    path = Path(root) / ENGINE_INFO_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(dict(info), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def git_blob_id(path: Path) -> str:
    """The id git gives this file's content (``git hash-object``), with CRLF read as LF.

    Windows checkouts with ``core.autocrlf`` store text files with CRLF; git hashes them as LF.
    """
    data = Path(path).read_bytes()
    if b"\r\n" in data:
        data = data.replace(b"\r\n", b"\n")
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def fingerprint_mismatches(source_dir: Path, fingerprint: Mapping[str, str] = FINGERPRINT) -> list[str]:
    """Key files whose content differs from the pinned commit (or that are missing)."""
    bad = []
    for relative, blob_id in fingerprint.items():
        path = Path(source_dir) / relative
        if not path.is_file() or git_blob_id(path) != blob_id:
            bad.append(relative)
    return bad


def checkout_commit(source_dir: Path) -> str | None:
    """HEAD of a git checkout, read from ``.git`` files (no git binary needed); None without .git."""
    git_dir = Path(source_dir) / ".git"
    try:
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not head.startswith("ref:"):
        return head or None
    ref = head.split(":", 1)[1].strip()
    try:
        return (git_dir / ref).read_text(encoding="utf-8").strip()
    except OSError:
        pass
    try:
        for line in (git_dir / "packed-refs").read_text(encoding="utf-8").splitlines():
            if line.endswith(" " + ref):
                return line.split(" ", 1)[0]
    except OSError:
        return None
    return None


def require_pinned(engine: Engine, allow_unpinned: bool = False, expected: str = ENGINE_COMMIT) -> None:
    """Refuse an engine whose recorded commit or key files differ from the pinned ones."""
    if allow_unpinned:
        return
    if engine.commit != expected:
        raise WrongEngineCommitError(engine.source_dir, engine.commit, expected)
    changed = fingerprint_mismatches(engine.source_dir)
    if changed:
        raise WrongEngineCommitError(
            engine.source_dir / changed[0],
            f"{engine.commit} (claimed), but {len(changed)} key file(s) differ from it: {', '.join(changed)}",
            expected,
        )
