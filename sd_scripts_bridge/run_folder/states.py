"""The engine's saved training states (``--save_state``) and where a run can resume.

sd-scripts writes ``<output_name>-step%08d-state/``, ``<output_name>-%06d-state/`` (epochs) and
``<output_name>-state/`` (end of training). accelerate writes ``train_state.json`` first (a save
hook) and the RNG states ``random_states_*.pkl`` last, so a state dir holding both was written
completely; one cut off by a cancel is ignored. The step to resume from is ``current_step`` in
``train_state.json`` (not the name: an end-of-training state has no step in its name).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

STATE_SUFFIX = "-state"
TRAIN_STATE_FILE = "train_state.json"


@dataclass(frozen=True)
class SavedState:
    path: Path
    step: int


def read_state(path: Path) -> SavedState | None:
    """The state saved in ``path``, or None when it is incomplete or unreadable."""
    if not path.is_dir() or not any(path.glob("random_states_*.pkl")):
        return None
    try:
        data = json.loads((path / TRAIN_STATE_FILE).read_text(encoding="utf-8"))
        return SavedState(path=path, step=int(data["current_step"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def states_for(
    output_dir: Path, output_name: str, trusted: Callable[[SavedState], bool] | None = None
) -> list[SavedState]:
    """Complete states written for ``output_name`` in ``output_dir``, oldest step first; with
    ``trusted``, only those it accepts (the runner's ledger of states it watched being written)."""
    if not output_dir.is_dir():
        return []
    found = []
    named = [*output_dir.glob(f"{output_name}-*{STATE_SUFFIX}"), output_dir / f"{output_name}{STATE_SUFFIX}"]
    for path in named:
        state = read_state(path) if belongs_to(path, output_name) and not path.is_symlink() else None
        if state is not None and (trusted is None or trusted(state)):
            found.append(state)
    # Same step: prefer the end-of-training state, then the newest on disk.
    return sorted(found, key=lambda s: (s.step, s.path.name == f"{output_name}{STATE_SUFFIX}"))


def newest_state(
    output_dir: Path, output_name: str, trusted: Callable[[SavedState], bool] | None = None
) -> SavedState | None:
    states = states_for(output_dir, output_name, trusted)
    return states[-1] if states else None


def belongs_to(state_dir: Path, output_name: str) -> bool:
    """Whether ``state_dir``'s name is one sd-scripts writes for ``output_name``."""
    name = state_dir.name
    if not name.endswith(STATE_SUFFIX):
        return False
    middle = name[: -len(STATE_SUFFIX)]
    if middle == output_name:
        return True
    if not middle.startswith(output_name + "-"):
        return False
    tag = middle[len(output_name) + 1 :]
    return (tag.startswith("step") and tag[4:].isdigit()) or tag.isdigit()
