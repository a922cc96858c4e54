"""TrainIdentityLoRA's inputs under the server owner's limits (the arithmetic is
``identity_core.access.owner_limits``): the RAM check, the engine process count, and the spacing
of checkpoints and preview rounds. Inputs can only lower a limit; each lowered value becomes a
line of the run's summary."""

from __future__ import annotations

from .comfy_glue.memory import gpu_count
from .comfy_glue.server_folders import server_settings

STATE_BYTES_PER_WEIGHT = 12  # a resume state: the LoRA in fp32 and AdamW's two fp32 moments


def owner_limited(inputs: dict, has_regularization: bool) -> tuple[dict, list[str]]:
    """``inputs`` with ram_check, num_processes, checkpoint_every and preview_every_n_steps limited,
    and the sentences that say what was changed."""
    from ..identity_core.access import owner_limits
    from ..sd_scripts_bridge.lora_file import estimated_lora_bytes

    settings = server_settings()
    steps, rank = _steps_and_rank(inputs, has_regularization)
    limited = {
        "ram_check": owner_limits.ram_check(bool(inputs.get("ram_check", True)), settings),
        "num_processes": owner_limits.process_count(
            int(inputs.get("num_processes") or 1), gpu_count(), settings
        ),
        "checkpoint_every": owner_limits.checkpoint_interval(
            int(inputs.get("checkpoint_every") or 0),
            steps,
            estimated_lora_bytes(rank),
            estimated_lora_bytes(rank, STATE_BYTES_PER_WEIGHT),
            settings,
        ),
        "preview_every_n_steps": owner_limits.checkpoint_interval(
            int(inputs.get("preview_every_n_steps") or 0), steps, 0, 0, settings, "preview_every_n_steps"
        ),
    }
    changed = {**inputs, **{name: entry.value for name, entry in limited.items()}}
    return changed, [entry.note for entry in limited.values() if entry.note]


def _steps_and_rank(inputs: dict, has_regularization: bool) -> tuple[int, int]:
    """The engine's step count (doubled with regularization, as the plan does) and the rank."""
    from ..sd_scripts_bridge.plan.build import regularization_budget
    from ..sd_scripts_bridge.plan.profiles import get_profile, resolve_settings
    from .train_request import overrides

    settings = resolve_settings(get_profile(inputs["profile"]), overrides(inputs))
    budget = regularization_budget(settings, has_regularization)
    return int(budget["max_train_steps"]), int(budget["network_dim"])
