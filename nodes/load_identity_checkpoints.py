"""LoadIdentityCheckpoints: an earlier training run's checkpoints, for the evaluate workflow.

The choice is a list, never a free path: the run folders in the pack's private work folder
(``run: <folder>``) and the sub-folders of ComfyUI's ``loras`` folders that hold LoRA files
(``loras: <sub-folder>``). A run folder gives only the checkpoints the pack recorded while the
engine wrote them (sha256 in the run's ledger: ``trusted_checkpoints``), with the likeness curve
the run measured; its published LoRA is where the recommendation goes, when that file still
carries the run's request key. A loras sub-folder gives its LoRA files as they are (LoraLoader
would load them too); the recommendation is then only named, never copied.
"""

from __future__ import annotations

import os
from pathlib import Path

from .comfy_glue.hidden_paths import hiding_private_paths
from .comfy_glue.lora_folders import lies_in_lora_folders, lora_display_name, lora_roots
from .comfy_glue.server_folders import work_folder
from .pack_names import CATEGORY_ROOT, CHECKPOINTS_TYPE
from .train_request import RUNS_SUBFOLDER

RUN_PREFIX, LORAS_PREFIX = "run: ", "loras: "
MAX_FOLDER_DEPTH = 3  # loras sub-folders looked at


class LoadIdentityCheckpoints:
    DISPLAY_NAME = "Load Identity Checkpoints"
    CATEGORY = f"{CATEGORY_ROOT}/evaluation"
    DESCRIPTION = (
        "An earlier training run's checkpoints for StrengthSweep's checkpoints input: a run folder of "
        "this pack (only the checkpoints it recorded, with the likeness measured while training) or a "
        "sub-folder of models/loras with LoRA files."
    )
    RETURN_TYPES = (CHECKPOINTS_TYPE, "STRING")
    RETURN_NAMES = ("checkpoints", "summary")
    OUTPUT_TOOLTIPS = (
        "The run's checkpoints, for StrengthSweep's checkpoints input.",
        "The run, its checkpoint steps and whether it has likeness from training.",
    )
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "run": (
                    run_choices() or ["(no run folder or loras sub-folder yet)"],
                    {"tooltip": "A training run of this pack, or a sub-folder of models/loras."},
                )
            }
        }

    @hiding_private_paths
    def load(self, run):
        checkpoints = load_choice(run)
        steps = ", ".join(str(step) for step in checkpoints.steps)
        measured = "with likeness from training" if checkpoints.likeness is not None else "no likeness yet"
        return (
            checkpoints,
            f"{checkpoints.run_name}: {len(checkpoints.files)} checkpoints ({steps}), {measured}",
        )


def run_choices() -> list[str]:
    """Run folders (newest first) and loras sub-folders with LoRA files."""
    return [
        *(RUN_PREFIX + name for name in _run_folders()),
        *(LORAS_PREFIX + name for name in _lora_folders()),
    ]


def load_choice(choice: str):
    from ..identity_core.evaluation import EvaluationError

    if choice.startswith(RUN_PREFIX) and choice[len(RUN_PREFIX) :] in _run_folders():
        return _from_run(_runs_root() / choice[len(RUN_PREFIX) :])
    if choice.startswith(LORAS_PREFIX) and choice[len(LORAS_PREFIX) :] in _lora_folders():
        return _from_loras(choice[len(LORAS_PREFIX) :])
    raise EvaluationError(
        f"'{choice}' is not one of the run folders or loras sub-folders this server has",
        "pick an entry from the list (refresh the page after a new training run)",
        "run",
    )


def _runs_root() -> Path:
    return Path(work_folder()) / RUNS_SUBFOLDER


def _run_folders() -> list[str]:
    """Run folders whose ledger records a checkpoint (the files are checked when a run is loaded)."""
    from ..sd_scripts_bridge.run_folder.checkpoints import has_recorded_checkpoints

    try:
        root = _runs_root()
        folders = [p for p in root.iterdir() if p.is_dir() and not p.is_symlink()]
    except Exception:  # a misconfigured work folder must not break the node list
        return []
    folders.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return [p.name for p in folders if has_recorded_checkpoints(p)]


def _lora_folders() -> list[str]:
    """Sub-folders (relative, '/'-separated) of the loras folders that hold .safetensors files."""
    found: set[str] = set()
    for root in lora_roots():
        for folder, dirs, files in os.walk(root):
            relative = os.path.relpath(folder, root)
            if relative.count(os.sep) >= MAX_FOLDER_DEPTH:
                dirs.clear()
            if relative != "." and any(name.endswith(".safetensors") for name in files):
                found.add(relative.replace(os.sep, "/"))
    return sorted(found)


def _from_run(run_dir: Path):
    """The recorded checkpoints, the run's likeness and losses, its published LoRA as the target."""
    from ..identity_core.evaluation import EvaluationError
    from ..identity_core.evaluation.checkpoints import CheckpointFile, CheckpointSet
    from ..identity_core.evaluation.likeness_monitor import read_likeness
    from ..identity_core.reports.loss_chart import read_loss_points
    from ..sd_scripts_bridge.run_folder.checkpoints import trusted_checkpoints

    checkpoints = trusted_checkpoints(run_dir)
    if not checkpoints:
        raise EvaluationError(
            f"No checkpoint of the run '{run_dir.name}' still matches what its training recorded "
            "(the files were replaced or removed)",
            "pick another run, or train this one again",
            "run",
        )
    saved = read_likeness(run_dir)
    publish_to, key = _published_lora(run_dir)
    return CheckpointSet(
        files=tuple(CheckpointFile(c.step, c.path) for c in checkpoints),
        run_name=run_dir.name,
        lora_name=lora_display_name(str(publish_to)) if publish_to is not None else "",
        publish_to=publish_to,
        likeness=saved.curve if saved is not None else None,
        losses=tuple((p.step, p.loss) for p in read_loss_points(run_dir / "loss.csv")),
        request_key=key,
    )


def _published_lora(run_dir: Path) -> tuple[Path | None, str]:
    """The run's published LoRA, when it lies in a loras folder and still carries the run's key (as
    its training published it, or with the step of a checkpoint an evaluation published), and the key.
    """
    from ..sd_scripts_bridge.plan.request_key import published_for_key, published_step
    from ..sd_scripts_bridge.run.report import read_report

    report = read_report(run_dir)
    path, key = report.get("lora_path"), report.get("request_key")
    if not isinstance(path, str) or not isinstance(key, str) or not lies_in_lora_folders(path):
        return None, key if isinstance(key, str) else ""
    ours = published_for_key(Path(path), key) or published_step(Path(path), key) is not None
    return (Path(path) if ours else None), key


def _from_loras(subfolder: str):
    from ..identity_core.evaluation import EvaluationError
    from ..identity_core.evaluation.checkpoints import checkpoints_in_folder

    for root in lora_roots():
        folder = Path(root) / subfolder
        if folder.is_dir():
            return checkpoints_in_folder(folder)
    raise EvaluationError(f"The loras sub-folder '{subfolder}' is gone", "pick another entry", "run")
