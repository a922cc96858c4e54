"""The server owner's limits on a training run; a node input can only lower them.

Whoever queues a prompt sets every node input, so the limits that protect the server (its RAM,
its GPUs, its disk) come from the owner's settings file (``settings.py``), and the node's inputs
only ask for less: the RAM check stays on when the owner wants it, the process count never
exceeds the GPUs present (or the owner's cap), and checkpoints are spaced so that a run keeps no
more than the owner's count within the owner's disk budget. Each lowered value comes with a
sentence for the run's summary. Pure arithmetic: the node passes in the step count, the GPU count
and the file sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import IdentityError
from .settings import SETTINGS_FILE, ServerSettings

STATES_KEPT = 2  # the resume state a run keeps, and the next one while it is written


@dataclass(frozen=True)
class Limited:
    """The value a run gets, and why it differs from what was asked (empty when it does not)."""

    value: int | bool
    note: str = ""


def ram_check(requested: bool, settings: ServerSettings) -> Limited:
    if requested or not settings.ram_check:
        return Limited(bool(requested))
    return Limited(
        True, f"ram_check off was ignored: the server owner requires the RAM check ({SETTINGS_FILE})"
    )


def process_count(requested: int, gpus: int, settings: ServerSettings) -> Limited:
    """At most one engine process per GPU present (one on a CPU), and at most the owner's cap."""
    ceiling = max(gpus, 1) if settings.max_processes is None else settings.max_processes
    if gpus > 0:
        ceiling = min(ceiling, gpus)
    if requested <= ceiling:
        return Limited(int(requested))
    where = f"{gpus} GPU(s) present" if gpus > 0 else "a CPU run"
    owner = f", the server owner's max_processes {settings.max_processes}" if settings.max_processes else ""
    return Limited(ceiling, f"num_processes {requested} was lowered to {ceiling} ({where}{owner})")


def checkpoint_interval(
    requested_every: int,
    engine_steps: int,
    checkpoint_bytes: int,
    state_bytes: int,
    settings: ServerSettings,
    name: str = "checkpoint_every",
) -> Limited:
    """The step interval that keeps a run's checkpoints within the owner's count and disk budget.

    ``requested_every`` 0 saves none (nothing to limit). ``checkpoint_bytes`` and ``state_bytes``
    are the estimated sizes of one LoRA checkpoint and one resume state.
    """
    if requested_every <= 0 or engine_steps <= 0:
        return Limited(int(max(requested_every, 0)))
    budget = settings.checkpoint_disk_gb * 1e9 - STATES_KEPT * state_bytes
    fitting = math.floor(budget / checkpoint_bytes) if checkpoint_bytes > 0 else settings.max_kept_checkpoints
    allowed = min(settings.max_kept_checkpoints, fitting)
    if allowed < 1:
        raise IdentityError(
            f"One checkpoint ({checkpoint_bytes / 1e9:.2f} GB) and the resume states "
            f"({state_bytes / 1e9:.2f} GB each) do not fit the server owner's checkpoint disk budget of "
            f"{settings.checkpoint_disk_gb:g} GB",
            f"set {name} to 0 (no checkpoints), lower the rank, or ask the server owner to raise "
            f"checkpoint_disk_budget_gb in {SETTINGS_FILE}",
            name,
        )
    every = max(requested_every, math.ceil(engine_steps / allowed))
    if every == requested_every:
        return Limited(int(requested_every))
    return Limited(
        every,
        f"{name} {requested_every} was raised to {every}: {engine_steps} steps keep at most {allowed} "
        f"checkpoints (the server owner's max_kept_checkpoints {settings.max_kept_checkpoints} and "
        f"checkpoint disk budget {settings.checkpoint_disk_gb:g} GB, about {checkpoint_bytes / 1e9:.2f} GB "
        "per checkpoint)",
    )
