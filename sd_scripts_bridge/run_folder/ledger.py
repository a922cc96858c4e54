"""Which saved training states and phase outputs this pack watched the engine write, and for
which request.

A state folder holds the LoRA weights and optimizer state a resumed run continues from, and a
finished phase's LoRA file is where the next phase starts (two-phase text-encoder training); both
end up in the published LoRA under our metadata. So one is used only when the runner recorded
it: the runner notes the states already in the run folder when an engine run starts, and records
each state that becomes complete while it runs (``random_states_*.pkl`` is written last) and each
phase output it checked, with the request key and a sha256 of every file. Anything not in
``states.json``, of another request, or changed since, is never resumed from.

Step checkpoints are recorded too (global step, path in the run folder, sha256), once the engine
has finished writing them: a later loader lists only those (``checkpoints.trusted_checkpoints``).
Older states are deleted while a run goes (``pruning.py``) and their entries forgotten.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..model import Checkpoint, TrainingPlan
from ..plan.request_key import REQUEST_KEY_METADATA
from .states import STATE_SUFFIX, SavedState, belongs_to, read_state

LEDGER_FILE = "states.json"
CHECKPOINT_KIND = "checkpoint"


class StateLedger:
    """``<run_dir>/states.json``: state folder name -> request key, step, file digests."""

    def __init__(self, run_dir: Path, request_key: str) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LEDGER_FILE
        self.request_key = request_key
        self.entries: dict[str, dict[str, Any]] = _load(self.path)
        self.present_at_start: set[Path] = set()

    @classmethod
    def for_plan(cls, plan: TrainingPlan) -> StateLedger:
        return cls(plan.run_dir, plan.metadata.get(REQUEST_KEY_METADATA, ""))

    def note_present(self, plan: TrainingPlan) -> None:
        """Remember the complete states already there: anything new after this was written now."""
        self.present_at_start = {state.path for state in _complete_states(plan)}

    def record_new(self, plan: TrainingPlan) -> list[SavedState]:
        """Record every complete state that appeared since :meth:`note_present`; return those."""
        new = [s for s in _complete_states(plan) if s.path not in self.present_at_start]
        new = [s for s in new if s.path.name not in self.entries]
        for state in new:
            self.entries[state.path.name] = {
                "request_key": self.request_key,
                "step": state.step,
                "files": folder_digests(state.path),
            }
        if new:
            _save(self.path, self.entries)
        return new

    def recorded_states(self, plan: TrainingPlan) -> list[tuple[int, SavedState]]:
        """(global step, state) of every state folder recorded for this request that is still there
        (a real folder directly in its phase's output folder), oldest first; at the same step the
        end-of-training state comes last."""
        found = []
        steps_before = 0
        for phase in plan.phases:
            for name, entry in self.entries.items():
                step = entry.get("step")
                if entry.get("request_key") != self.request_key or not isinstance(step, int):
                    continue
                path = phase.output_dir / name
                if belongs_to(path, phase.output_name) and path.is_dir() and not path.is_symlink():
                    is_end = name == phase.output_name + STATE_SUFFIX
                    found.append((steps_before + step, is_end, SavedState(path, step)))
            steps_before += phase.max_train_steps
        return [(step, state) for step, _, state in sorted(found, key=lambda item: item[:2])]

    def forget(self, names: list[str]) -> None:
        """Drop these entries (states that were deleted)."""
        for name in names:
            self.entries.pop(name, None)
        _save(self.path, self.entries)

    def record_checkpoint(self, checkpoint: Checkpoint) -> None:
        """A step checkpoint the engine finished writing: its global step, place and digest."""
        path = Path(checkpoint.path)
        if not path.is_relative_to(self.run_dir):
            return  # a hand-made plan's output outside its run folder: not listed later
        self.entries[path.name] = {
            "kind": CHECKPOINT_KIND,
            "request_key": self.request_key,
            "global_step": checkpoint.step,
            "path": path.relative_to(self.run_dir).as_posix(),
            "files": {path.name: file_sha256(path)},
        }
        _save(self.path, self.entries)

    def record_output(self, path: Path) -> None:
        """A phase's finished LoRA file, checked by the runner right after its engine run."""
        self.entries[path.name] = {"request_key": self.request_key, "files": {path.name: file_sha256(path)}}
        _save(self.path, self.entries)

    def trusts_output(self, path: Path) -> bool:
        entry = self.entries.get(path.name)
        return (
            path.is_file()
            and entry is not None
            and entry.get("request_key") == self.request_key
            and entry.get("files") == {path.name: file_sha256(path)}
        )

    def trusts(self, state: SavedState) -> bool:
        entry = self.entries.get(state.path.name)
        return (
            entry is not None
            and entry.get("request_key") == self.request_key
            and entry.get("step") == state.step
            and entry.get("files") == folder_digests(state.path)
        )


def folder_digests(folder: Path) -> dict[str, str]:
    """sha256 of every file directly in ``folder`` (a state holds no sub-folders)."""
    return {
        path.name: file_sha256(path)
        for path in sorted(Path(folder).iterdir())
        if path.is_file() and not path.is_symlink()
    }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _complete_states(plan: TrainingPlan) -> list[SavedState]:
    found = []
    for phase in plan.phases:
        if not phase.output_dir.is_dir():
            continue
        for path in phase.output_dir.glob(f"{phase.output_name}-*-state"):
            if not path.is_symlink() and belongs_to(path, phase.output_name):
                state = read_state(path)
                if state is not None:
                    found.append(state)
        final = phase.output_dir / f"{phase.output_name}-state"
        if final.is_dir() and not final.is_symlink() and (state := read_state(final)) is not None:
            found.append(state)
    return found


def load_entries(run_dir: Path) -> dict[str, dict[str, Any]]:
    """The ledger of ``run_dir`` as it is on disk ({} when missing or unreadable)."""
    return _load(Path(run_dir) / LEDGER_FILE)


def _load(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save(path: Path, entries: dict[str, dict[str, Any]]) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    temporary.write_text(json.dumps(entries, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(temporary, path)
