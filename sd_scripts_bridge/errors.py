"""Errors the bridge raises: each says what happened, to which file, and what to do.

Every error a user can meet is a :class:`BridgeError`. The node shows ``str(error)``; the CLI
prints it and exits non-zero. Subclasses only fill in ``what``/``path``/``fix`` from their own
arguments, so callers can also read the parts separately (``error.fix``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

INSTALL_COMMAND = "python -m sd_scripts_bridge install --engine DIR"


class BridgeError(Exception):
    """Base class: ``what`` happened, to ``path`` (optional), and the ``fix``."""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.__module__ = _short_module(cls.__module__)

    def __init__(self, what: str, fix: str, path: Path | str | None = None) -> None:
        self.what = what
        self.fix = fix
        self.path = Path(path) if path is not None else None
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [self.what.rstrip(".") + "."]
        if self.path is not None:
            parts.append(f"File: {self.path}.")
        parts.append(f"What to do: {self.fix.rstrip('.')}.")
        return " ".join(parts)


def _short_module(name: str) -> str:
    """The module name without a folder in front: ComfyUI imports a custom node folder under its
    absolute path, and an error's type name reaches every client through /history."""
    return name.replace("\\", "/").rsplit("/", 1)[-1]


BridgeError.__module__ = _short_module(BridgeError.__module__)


class EngineRunError(BridgeError):
    """A run that went wrong; carries the engine log's last lines and the log path."""

    def __init__(
        self,
        what: str,
        fix: str,
        path: Path | str | None = None,
        log_path: Path | str | None = None,
        log_tail: Sequence[str] = (),
    ) -> None:
        self.log_path = Path(log_path) if log_path is not None else None
        self.log_tail = tuple(log_tail)
        super().__init__(what, fix, path)

    def _message(self) -> str:
        message = super()._message()
        if self.log_path is not None:
            message += f" Engine log: {self.log_path}."
        if self.log_tail:
            message += "\nLast lines of the engine log:\n" + "\n".join(self.log_tail)
        return message


class TrainingNaNError(EngineRunError):
    """The loss became NaN/inf: the run was stopped and nothing was published."""

    def __init__(
        self,
        step: int,
        log_path: Path | str | None = None,
        log_tail: Sequence[str] = (),
        run_dir: Path | str | None = None,
    ) -> None:
        self.step = step
        super().__init__(
            what=(
                f"The training loss became NaN at step {step}; the run was stopped and no LoRA was published"
            ),
            fix=(
                "lower the learning rate (for example halve it) and train in bf16 "
                "(mixed_precision bf16), then start a new run; the run folder is kept for inspection"
            ),
            path=run_dir,
            log_path=log_path,
            log_tail=log_tail,
        )


class OutOfMemoryError(EngineRunError):
    """The engine ran out of GPU memory; the fix names the next smaller VRAM tier."""

    def __init__(
        self,
        tier: str | None,
        smaller_tier: str | None,
        log_path: Path | str | None = None,
        log_tail: Sequence[str] = (),
    ) -> None:
        self.tier = tier
        self.smaller_tier = smaller_tier
        if smaller_tier:
            fix = (
                f"choose the smaller VRAM tier '{smaller_tier}' (vram_tier={smaller_tier}), which swaps "
                "more blocks to the CPU, or close other programs using the GPU, then run again"
            )
        else:
            fix = (
                "this is already the smallest VRAM tier: close other programs using the GPU, "
                "lower the resolution or the network rank, or use a GPU with more memory"
            )
        on_tier = f" on the '{tier}' VRAM tier" if tier else ""
        super().__init__(
            what=f"The engine ran out of GPU memory{on_tier}",
            fix=fix,
            path=log_path,
            log_path=log_path,
            log_tail=log_tail,
        )


class EngineCrashedError(EngineRunError):
    """The engine exited with a non-zero code (or was killed)."""

    def __init__(
        self,
        returncode: int,
        log_path: Path | str | None = None,
        log_tail: Sequence[str] = (),
        phase: str | None = None,
    ) -> None:
        self.returncode = returncode
        in_phase = f" in phase '{phase}'" if phase else ""
        super().__init__(
            what=f"The training engine stopped with exit code {returncode}{in_phase}",
            fix="read the last lines of the engine log below for the cause, fix it, and run again",
            path=log_path,
            log_path=log_path,
            log_tail=log_tail,
        )


class TrainingCancelledError(BridgeError):
    """The user cancelled; ``resume_state`` (if any) is where training can continue from."""

    def __init__(self, resume_state: Path | str | None, run_dir: Path | str | None = None) -> None:
        self.resume_state = Path(resume_state) if resume_state is not None else None
        self.run_dir = Path(run_dir) if run_dir is not None else None
        if self.resume_state is not None:
            fix = (
                f"to continue where it stopped, run again with resume_from={self.resume_state} "
                "(the step count continues from the saved state)"
            )
            path = self.resume_state
        else:
            fix = (
                "no training state had been saved yet, so start the run again "
                "(use save_every_n_steps to make long runs resumable)"
            )
            path = self.run_dir
        super().__init__(what="Training was cancelled", fix=fix, path=path)


class MissingOutputError(EngineRunError):
    """The engine reported success but the expected LoRA file is not there."""

    def __init__(
        self, expected: Path | str, log_path: Path | str | None = None, log_tail: Sequence[str] = ()
    ) -> None:
        super().__init__(
            what="The engine finished but did not write the expected LoRA file",
            fix="read the engine log for a save error (disk full, permissions) and run again",
            path=expected,
            log_path=log_path,
            log_tail=log_tail,
        )


class BadLoRAFileError(EngineRunError):
    """A LoRA file is unreadable, lacks expected keys, or holds non-finite values."""

    def __init__(
        self,
        path: Path | str,
        problem: str,
        fix: str = "do not use this file; check the engine log, fix the cause and train again",
        log_path: Path | str | None = None,
        log_tail: Sequence[str] = (),
    ) -> None:
        self.problem = problem
        super().__init__(
            what=f"The LoRA file is not usable: {problem}",
            fix=fix,
            path=path,
            log_path=log_path,
            log_tail=log_tail,
        )


class EngineNotInstalledError(BridgeError):
    """No engine folder (or an incomplete one) was found."""

    def __init__(self, path: Path | str | None, detail: str = "") -> None:
        what = "The sd-scripts training engine is not installed"
        if detail:
            what += f" ({detail})"
        super().__init__(
            what=what,
            fix=(
                f"install it with `{INSTALL_COMMAND}` and point the node or the "
                "IDENTITY_LORA_ENGINE environment variable at DIR"
            ),
            path=path,
        )


class WrongEngineCommitError(BridgeError):
    """The engine checkout is not at the pinned commit."""

    def __init__(self, path: Path | str | None, found: str | None, expected: str) -> None:
        self.found = found
        self.expected = expected
        super().__init__(
            what=f"The engine is at commit {found or '(unknown)'}, not the pinned commit {expected}",
            fix=(
                f"reinstall it with `{INSTALL_COMMAND}`, or pass --allow-unpinned "
                "if you accept an untested engine version"
            ),
            path=path,
        )


class OutputExistsError(BridgeError):
    """Publishing would overwrite an existing LoRA file."""

    def __init__(self, path: Path | str) -> None:
        super().__init__(
            what="A LoRA file with this name already exists and was not overwritten",
            fix="choose another output name, or allow overwriting (overwrite=True / --overwrite)",
            path=path,
        )


class GpuRequiredError(BridgeError):
    """Training was asked for on a machine without a CUDA GPU."""

    def __init__(self, cpu_switch: str) -> None:
        super().__init__(
            what="No CUDA GPU is visible, and FLUX LoRA training needs an NVIDIA GPU (8 GB or more)",
            fix=f"run ComfyUI on a machine with one; for tests with tiny models only, set {cpu_switch}=1",
        )
