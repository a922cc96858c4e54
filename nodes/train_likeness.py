"""TrainIdentityLoRA's live likeness: the engine's samples scored while it trains (wiring only).

What is sampled, how it is scored and when to stop is ``identity_core.evaluation.run_likeness``
and ``likeness_monitor``; this module loads the face backend, relays the job's events to the
monitor after the progress display, shows each checkpoint's likeness and the live chart, saves the
curve in the run folder, and answers the job's ``should_stop`` with a ``StopRequest``.

A failure of the face tools never fails the training: the relay says what went wrong once and
trains on without live likeness.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .face_reference import load_face_backend
from .train_progress import TrainingProgress


class LiveLikenessRelay:
    """``on_event`` and ``should_stop`` for the job, when previews (and so samples) are on.

    The face backend and the reference are loaded at the first sample image, so a reused LoRA
    costs nothing and the engine is already running while they load.
    """

    def __init__(
        self, dataset, inputs: dict, prompts, probe, progress: TrainingProgress, run_dir: Path, title
    ):
        self.dataset, self.inputs, self.prompts, self.probe = dataset, inputs, prompts, probe
        self.progress = progress
        self.run_dir = Path(run_dir)
        self.title = title
        self.monitor = None
        self.scored: set[tuple[str, int]] = set()  # (path, mtime) of samples scored: resends are skipped
        self.broken = ""  # why live likeness stopped (a face-tool failure), "" while it works

    def __call__(self, event) -> None:
        self.progress(event)
        if self.broken or (self.monitor is None and event.kind != "sample") or self._seen(event):
            return
        try:
            self.monitor = self.monitor or self._start()
            update = self.monitor.observe(event)
            if update is not None:
                self.monitor.save(self.run_dir)
                self.progress.show_likeness(update.step, update.likeness, self.chart())
        except Exception as error:  # a limit of the face tools must not fail the training
            self.broken = f"live likeness stopped ({type(error).__name__}: {error}); training goes on"
            self.progress.say(self.broken)

    def _seen(self, event) -> bool:
        """A sample image already scored (the job resends earlier samples on resume and retry)."""
        if event.kind != "sample" or event.path is None:
            return False
        try:
            key = (str(event.path), Path(event.path).stat().st_mtime_ns)
        except OSError:
            return False
        if key in self.scored:
            return True
        self.scored.add(key)
        return False

    def _start(self):
        from ..identity_core.evaluation.run_likeness import early_stop_policy, start_monitor

        inputs = self.inputs
        backend = load_face_backend(inputs.get("face_backend") or "auto", "auto").backend
        policy = early_stop_policy(inputs["profile"], inputs.get("early_stop") or "auto")
        every = int(inputs.get("preview_every_n_steps") or 0)
        checkpoint_every = int(inputs["checkpoint_every"])
        monitor = start_monitor(
            self.dataset, backend, self.prompts, self.probe, checkpoint_every, every, policy
        )
        self.progress.say(
            f"live likeness: {backend.name}, {len(self.prompts)} sample prompts every {every} steps; "
            f"early stop {policy.why}"
        )
        return monitor

    def should_stop(self):
        from ..sd_scripts_bridge.model import StopRequest

        stop = self.monitor.stop if self.monitor is not None else None
        if stop is None:
            return None
        return StopRequest(at_step=stop.at_step, keep_step=stop.kept_step, reason=stop.reason)

    def chart(self) -> Any:
        monitor = self.monitor
        return likeness_chart_for(monitor.curve, monitor.about, self.run_dir, self.title, monitor.plateau)


def likeness_chart_for(curve, about: dict, run_dir: Path, title: str, plateau=None, stopped_at=None):
    """Likeness beside the run's loss, with the backend's lines when they are known."""
    from ..identity_core.reports.likeness_chart import likeness_chart
    from ..identity_core.reports.loss_chart import read_loss_points

    return likeness_chart(
        curve,
        read_loss_points(Path(run_dir) / "loss.csv"),
        same_person=about.get("same_person"),
        target=about.get("likeness_target"),
        plateau=plateau,
        stopped_at=stopped_at,
        title=title,
    )


def checkpoint_outputs(result, relay: LiveLikenessRelay | None, lora_name: str):
    """The run's IDENTITY_CHECKPOINTS value and its likeness chart (also for a reused LoRA)."""
    from ..identity_core.evaluation.checkpoints import CheckpointFile, CheckpointSet
    from ..identity_core.evaluation.likeness_curve import LikenessCurve
    from ..identity_core.evaluation.likeness_monitor import read_likeness
    from ..identity_core.reports.loss_chart import read_loss_points
    from ..sd_scripts_bridge.run_folder.checkpoints import trusted_checkpoints
    from .comfy_glue.events import current_prompt

    monitor = relay.monitor if relay is not None else None
    saved = read_likeness(result.run_dir) if monitor is None else None
    curve = monitor.curve if monitor is not None else (saved.curve if saved else None)
    about = monitor.about if monitor is not None else (saved.about if saved else {})
    stop = _early_stop(result)
    files = [CheckpointFile(c.step, c.path) for c in trusted_checkpoints(result.run_dir)]
    checkpoints = CheckpointSet(
        files=tuple(files + _final_file(result, files)),
        run_name=result.run_dir.name,
        lora_name=lora_name,
        publish_to=result.lora_path,
        likeness=curve,
        losses=tuple((p.step, p.loss) for p in read_loss_points(result.run_dir / "loss.csv")),
        early_stop=stop,
        trained_in_prompt=current_prompt()[0],
        request_key=result.key,
    )
    plateau = monitor.plateau if monitor is not None else None
    stopped_at = stop.at_step if stop is not None else None
    chart = likeness_chart_for(
        curve or LikenessCurve(), about, result.run_dir, lora_name, plateau, stopped_at
    )
    return checkpoints, chart


def _final_file(result, files) -> list:
    """The published LoRA as the last step when no step checkpoint holds the final step (the step
    count is not a multiple of the checkpoint interval) and it is the run's final file."""
    from ..identity_core.evaluation.checkpoints import CheckpointFile
    from ..sd_scripts_bridge.lora_file import read_metadata
    from ..sd_scripts_bridge.run.early_stop import CHECKPOINT_STEP_METADATA

    try:
        metadata = read_metadata(result.lora_path)
    except (OSError, ValueError):
        return []
    steps = metadata.get("identity_lora_total_steps", "")
    if CHECKPOINT_STEP_METADATA in metadata or not steps.isdigit():
        return []
    if any(f.step >= int(steps) for f in files):
        return []
    return [CheckpointFile(int(steps), result.lora_path)]


def _early_stop(result):
    """The early stop of this run, from the job or, for a reused LoRA, from its metadata."""
    from ..identity_core.evaluation.checkpoints import EarlyStop
    from ..sd_scripts_bridge.lora_file import read_metadata
    from ..sd_scripts_bridge.run.early_stop import stop_from_metadata

    stop = result.stopped_early
    if stop is None:
        try:
            stop = stop_from_metadata(read_metadata(result.lora_path))
        except (OSError, ValueError):
            stop = None
    return EarlyStop(stop.at_step, stop.keep_step, stop.reason) if stop is not None else None
