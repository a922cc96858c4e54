"""``install``: put the pinned sd-scripts and its own virtual environment into an engine folder.

The engine's exact pins (transformers, diffusers, accelerate...) clash with ComfyUI's, so it
never shares ComfyUI's Python: it gets ``<engine>/venv``. This is an explicit step the user runs
once; nothing installs packages at node run time. Every external command is an argument list,
and its output goes to ``<engine>/install.log``.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BridgeError
from ..model import Engine
from .folder import (
    SOURCE_DIR_NAME,
    TOKENIZER_DIR_NAME,
    VENV_DIR_NAME,
    checkout_commit,
    engine_at,
    fingerprint_mismatches,
    venv_python,
    write_engine_info,
)
from .pins import ENGINE_COMMIT, ENGINE_REPOSITORY_URL, ENGINE_TAG, EXTRA_ENGINE_PACKAGES

# The CLIP and T5 tokenizer folder names the engine looks for under --tokenizer_cache_dir
# (the Hugging Face id with "/" replaced by "_"), and a file each must contain.
TOKENIZER_FOLDERS = {
    "openai_clip-vit-large-patch14": ("vocab.json", "merges.txt"),
    "google_t5-v1_1-xxl": ("tokenizer.json", "spiece.model"),  # either one is enough
}
LOG_FILE_NAME = "install.log"

CommandRunner = Callable[[Sequence[str], Path], None]


class InstallError(BridgeError):
    """An install step failed; the message names the step, the log and the fix."""


@dataclass(frozen=True)
class InstallOptions:
    engine_root: Path
    python: str = sys.executable  # the interpreter that creates the engine's venv
    from_path: Path | None = None  # copy this local checkout instead of cloning (offline machines)
    assume_commit: str | None = None  # the commit a --from copy without .git is known to be
    torch_spec: tuple[str, ...] = ()  # e.g. ("torch==2.14.1", "torchvision==0.29.1")
    tokenizers: Path | None = None  # folder holding the two tokenizer folders
    allow_unpinned: bool = False
    repository_url: str = ENGINE_REPOSITORY_URL
    commit: str = ENGINE_COMMIT
    pip_args: tuple[str, ...] = field(default_factory=tuple)  # extra pip options (e.g. --no-index)


def run_logged(argv: Sequence[str], log_file: Path) -> None:
    """Run one command, appending its output to the install log; raise with the log tail on failure."""
    with log_file.open("a", encoding="utf-8") as log:
        log.write(f"\n$ {' '.join(argv)}\n")
        log.flush()
        completed = subprocess.run(list(argv), stdout=log, stderr=subprocess.STDOUT, check=False)
    if completed.returncode != 0:
        tail = log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise InstallError(
            what=f"The install step `{' '.join(argv[:4])} ...` failed with exit code {completed.returncode}",
            fix="read the last lines below (network, disk space, Python version), fix the cause and run "
            "install again; finished steps are reused\n" + "\n".join(tail),
            path=log_file,
        )


def install_engine(
    options: InstallOptions,
    run: CommandRunner = run_logged,
    say: Callable[[str], None] = print,
) -> Engine:
    """Install (or complete) the engine folder; return the installed :class:`Engine`."""
    started = time.monotonic()
    root = Path(options.engine_root).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    log_file = root / LOG_FILE_NAME
    source_dir = root / SOURCE_DIR_NAME

    say(f"[1/5] engine source -> {source_dir}")
    commit, commit_source = fetch_source(options, source_dir, log_file, run)
    say(f"      commit {commit or '(unknown)'} ({commit_source})")

    say(f"[2/5] virtual environment -> {root / VENV_DIR_NAME} (Python {options.python})")
    python = create_venv(options.python, root / VENV_DIR_NAME, log_file, run)

    say("[3/5] packages (torch, the engine's requirements.txt, torchvision, the engine itself)")
    install_packages(options, python, source_dir, root, log_file, run)

    tokenizer_dir = None
    if options.tokenizers is not None:
        say(f"[4/5] offline tokenizers -> {root / TOKENIZER_DIR_NAME}")
        tokenizer_dir = copy_tokenizers(Path(options.tokenizers), root / TOKENIZER_DIR_NAME)
    else:
        say("[4/5] offline tokenizers: none given (the engine downloads them on its first run)")

    say("[5/5] engine.json")
    versions = probe_versions(python, log_file)
    info = {
        "commit": commit,
        "commit_source": commit_source,
        "pinned_commit": options.commit,
        "tag": ENGINE_TAG if commit == ENGINE_COMMIT else None,
        "source": str(options.from_path) if options.from_path else options.repository_url,
        "python": versions.get("python"),
        "torch": versions.get("torch"),
        "torchvision": versions.get("torchvision"),
        "platform": platform.platform(),
        "tokenizer_cache_dir": str(tokenizer_dir) if tokenizer_dir else None,
        "installed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "install_seconds": round(time.monotonic() - started, 1),
    }
    write_engine_info(root, info)
    say(f"done in {info['install_seconds']} s: {root}")
    return engine_at(root)


def fetch_source(
    options: InstallOptions, source_dir: Path, log_file: Path, run: CommandRunner
) -> tuple[str | None, str]:
    """Clone or copy the engine source; return (commit, how the commit is known)."""
    if not (source_dir / "flux_train_network.py").is_file():
        staging = source_dir.with_name(source_dir.name + ".partial")
        if staging.exists():
            shutil.rmtree(staging)
        if options.from_path is not None:
            copy_checkout(Path(options.from_path), staging)
        else:
            clone_commit(options.repository_url, options.commit, staging, log_file, run)
        staging.replace(source_dir)
    commit, commit_source = source_commit(source_dir, options.assume_commit)
    check_commit(source_dir, commit, options)
    return commit, commit_source


def clone_commit(url: str, commit: str, target: Path, log_file: Path, run: CommandRunner) -> None:
    """Fetch exactly one commit (shallow), without checking out any branch tip."""
    run(["git", "init", "--quiet", str(target)], log_file)
    run(["git", "-C", str(target), "remote", "add", "origin", url], log_file)
    run(["git", "-C", str(target), "fetch", "--depth", "1", "origin", commit], log_file)
    run(["git", "-C", str(target), "checkout", "--quiet", "--detach", "FETCH_HEAD"], log_file)


def copy_checkout(source: Path, target: Path) -> None:
    if not (source / "flux_train_network.py").is_file():
        raise InstallError(
            what="The folder given with --from is not an sd-scripts checkout (no flux_train_network.py)",
            fix="pass the top folder of an sd-scripts checkout at the pinned commit",
            path=source,
        )
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "venv", ".venv"))


def source_commit(source_dir: Path, assume_commit: str | None) -> tuple[str | None, str]:
    """The commit from the checkout's .git, else the one the user vouched for with --assume-commit."""
    from_git = checkout_commit(source_dir)
    if from_git:
        return from_git, "git"
    if assume_commit:
        return assume_commit, "assumed (--assume-commit), key files checked against the pinned commit"
    return None, "unknown (no .git and no --assume-commit)"


def check_commit(source_dir: Path, commit: str | None, options: InstallOptions) -> None:
    if options.allow_unpinned:
        return
    if commit != options.commit:
        raise InstallError(
            what=f"The engine source is at commit {commit or '(unknown)'}, not the pinned {options.commit}",
            fix="use a checkout of the pinned commit (for a copy without .git that you know is the pinned "
            "commit, add --assume-commit SHA), or pass --allow-unpinned to accept an untested version",
            path=source_dir,
        )
    changed = fingerprint_mismatches(source_dir) if options.commit == ENGINE_COMMIT else []
    if changed:
        raise InstallError(
            what=f"{len(changed)} key engine file(s) differ from the pinned commit: {', '.join(changed)}",
            fix="use an unmodified checkout of the pinned commit, or pass --allow-unpinned",
            path=source_dir / changed[0],
        )


def create_venv(python: str, venv_dir: Path, log_file: Path, run: CommandRunner) -> Path:
    interpreter = venv_python(venv_dir)
    if not interpreter.is_file():
        run([python, "-m", "venv", str(venv_dir)], log_file)
    return interpreter


def install_packages(
    options: InstallOptions, python: Path, source_dir: Path, root: Path, log_file: Path, run: CommandRunner
) -> None:
    """torch first (the chosen build), then the engine's pins with torch held, then the engine itself."""
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", *options.pip_args]
    constraint_args: list[str] = []
    if options.torch_spec:
        constraints = root / "torch-constraints.txt"
        constraints.write_text("\n".join(options.torch_spec) + "\n", encoding="utf-8")
        constraint_args = ["-c", str(constraints)]
        run([*pip, *options.torch_spec], log_file)
    requirements = root / "requirements.engine.txt"
    requirements.write_text(engine_requirements(source_dir / "requirements.txt"), encoding="utf-8")
    run([*pip, "-r", str(requirements), *constraint_args], log_file)
    run([*pip, *EXTRA_ENGINE_PACKAGES, *constraint_args], log_file)
    run([*pip, "--no-deps", "-e", str(source_dir)], log_file)


def engine_requirements(requirements_file: Path) -> str:
    """The engine's requirements.txt without its ``-e .`` line (the engine is installed separately)."""
    kept = []
    for line in requirements_file.read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("-e "):
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def copy_tokenizers(source: Path, target: Path) -> Path:
    """Copy the two tokenizer folders into the layout ``--tokenizer_cache_dir`` expects."""
    for name, files in TOKENIZER_FOLDERS.items():
        folder = source / name
        if not folder.is_dir() or not any((folder / file).is_file() for file in files):
            raise InstallError(
                what=f"The tokenizer folder {name} is missing or lacks {' / '.join(files)}",
                fix=f"pass --tokenizers DIR where DIR holds {' and '.join(TOKENIZER_FOLDERS)} "
                "(for example a folder the engine filled on an online machine)",
                path=folder,
            )
    target.mkdir(parents=True, exist_ok=True)
    for name in TOKENIZER_FOLDERS:
        destination = target / name
        if destination.exists():
            shutil.rmtree(destination)
        shutil.copytree(source / name, destination)
    return target


VERSION_PROBE = (
    "import json, platform\n"
    "out = {'python': platform.python_version()}\n"
    "for name in ('torch', 'torchvision'):\n"
    "    try:\n"
    "        out[name] = __import__(name).__version__\n"
    "    except Exception as error:\n"
    "        out[name] = None\n"
    "print(json.dumps(out))\n"
)


def probe_versions(python: Path, log_file: Path) -> dict[str, str | None]:
    try:
        completed = subprocess.run(
            [str(python), "-c", VERSION_PROBE], capture_output=True, text=True, check=False, timeout=300
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        with log_file.open("a", encoding="utf-8") as log:
            log.write(f"version probe failed: {error}\n")
        return {}
    with log_file.open("a", encoding="utf-8") as log:
        log.write(completed.stdout + completed.stderr)
    try:
        return json.loads(completed.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {}
