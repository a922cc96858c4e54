"""One training job, the same for every front end (the TrainIdentityLoRA node and ``train`` CLI).

``run_job`` owns the whole job around the engine run:

1. the request key (settings, model files, dataset content: ``request_key.py``);
2. reuse: a LoRA already published for exactly this key is returned without training;
3. the plan (``build_plan``), with the key added to the LoRA metadata;
4. resume the run folder's newest saved state, or set an earlier run aside (``run_folder.py``);
5. the run itself (``runner.run_training``: supervised engine, progress, loss and validation
   capture, NaN/OOM/crash/cancel, checks, atomic publish);
6. the checkpoint list, the summary and ``training_report.json`` (``run_report.py``).

Front ends only turn their inputs into a :class:`PlanRequest`, relay the progress events and
show the :class:`JobResult`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .engine import locate_engine
from .model import Checkpoint, Engine, PlanRequest, ProgressEvent, TrainingPlan, TrainingResult
from .plan import build_plan, engine_output_dir
from .publish import refuse_existing
from .request_key import REQUEST_KEY_METADATA, published_for_key, request_key, run_folder_name
from .run_folder import RunStart, choose_start
from .run_lock import RunLock
from .run_report import read_report, report_record, reused_summary, summary_text, write_report
from .runner import publish_destination, run_training
from .samples import SAMPLE_FOLDER, images_in

EventCallback = Callable[[ProgressEvent], None]
JOB_PHASE = "job"  # the phase name of the job's own events (reuse, set-aside, before training)


@dataclass(frozen=True)
class JobOptions:
    resume: bool = True  # continue a saved state of the same request; off: set the old run aside
    overwrite: bool = False  # replace a published LoRA of the same name trained from other inputs
    resume_from: Path | None = None  # this ``*-state`` folder instead of the newest one
    holder: str = ""  # who runs the job, named to a second run that finds the run folder busy


@dataclass(frozen=True)
class JobResult:
    key: str
    lora_path: Path
    run_dir: Path
    summary: str
    reused: bool = False
    samples: tuple[Path, ...] = ()  # the engine's sample images of this run, oldest first
    checkpoints: tuple[Checkpoint, ...] = ()  # step checkpoints kept in the run folder
    training: TrainingResult | None = None  # None when the LoRA was reused
    plan: TrainingPlan | None = None
    set_aside: Path | None = None
    report_path: Path | None = None


def place_run(request: PlanRequest, runs_root: Path) -> PlanRequest:
    """The request with its run folder under ``runs_root``, named after its key."""
    return dataclasses.replace(
        request, run_dir=Path(runs_root) / run_folder_name(request.output_name, request_key(request))
    )


def run_job(
    request: PlanRequest,
    engine: Engine | None = None,
    on_event: EventCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
    options: JobOptions | None = None,
    before_training: Callable[[], str] | None = None,
) -> JobResult:
    """Reuse, or plan, resume and train; raise a ``BridgeError`` subclass on any failure.

    ``engine`` None: the installed engine is located only when training is needed (a reused LoRA
    needs none). ``before_training`` runs right before the engine starts (the node frees
    ComfyUI's VRAM there) and returns a sentence for the summary.
    """
    job = _Job(on_event, should_cancel, options or JobOptions(), before_training)
    return job.run(request, engine)


class _Job:
    """One call of :func:`run_job`: its callbacks, options and clock."""

    def __init__(
        self,
        on_event: EventCallback | None,
        should_cancel: Callable[[], bool] | None,
        options: JobOptions,
        before_training: Callable[[], str] | None,
    ) -> None:
        self.emit = on_event or (lambda _event: None)
        self.should_cancel = should_cancel
        self.options = options
        self.before_training = before_training
        self.started = time.monotonic()

    def run(self, request: PlanRequest, engine: Engine | None) -> JobResult:
        key = request_key(request)
        destination = publish_destination(request)
        if published_for_key(destination, key):
            return self._reused(request, destination, key)
        refuse_existing(destination, self.options.overwrite)
        engine = engine or locate_engine()
        plan = _plan_with_key(request, engine, key)
        with RunLock(plan.run_dir, self.options.holder):
            return self._train(plan, engine, key)

    def _reused(self, request: PlanRequest, destination: Path, key: str) -> JobResult:
        run_dir = Path(request.run_dir)
        summary = reused_summary(destination, key, read_report(run_dir))
        self.emit(ProgressEvent(kind="log", phase=JOB_PHASE, message=f"reused {destination.name}"))
        samples = images_in([engine_output_dir(run_dir) / SAMPLE_FOLDER])
        return JobResult(key, destination, run_dir, summary, reused=True, samples=tuple(samples))

    def _train(self, plan: TrainingPlan, engine: Engine, key: str) -> JobResult:
        """Resume or set aside, run, report: the part of the job that holds the run folder's lock."""
        run_start = choose_start(plan, self.options.resume, self.options.resume_from)
        self._say_where_it_starts(run_start)
        freed = self.before_training() if self.before_training is not None else ""
        if freed:
            self.emit(ProgressEvent(kind="log", phase=JOB_PHASE, message=freed))
        speed = _EngineSpeed(self.emit)
        training = run_training(
            plan,
            engine,
            on_event=speed,
            should_cancel=self.should_cancel,
            overwrite=self.options.overwrite,
            start=run_start.start,
        )
        wall = time.monotonic() - self.started
        summary = summary_text(plan, training, wall, speed.sec_per_step, freed)
        report = write_report(plan.run_dir, report_record(plan, training, key, summary, wall))
        return JobResult(
            key=key,
            lora_path=training.lora_path,
            run_dir=plan.run_dir,
            summary=summary,
            samples=training.samples,
            checkpoints=training.checkpoints,
            training=training,
            plan=plan,
            set_aside=run_start.set_aside,
            report_path=report,
        )

    def _say_where_it_starts(self, run_start: RunStart) -> None:
        if run_start.set_aside is not None:
            message = f"set the earlier run aside: {run_start.set_aside.name}"
            self.emit(ProgressEvent(kind="log", phase=JOB_PHASE, message=message))


def _plan_with_key(request: PlanRequest, engine: Engine, key: str) -> TrainingPlan:
    plan = build_plan(request, engine)
    return dataclasses.replace(plan, metadata={**plan.metadata, REQUEST_KEY_METADATA: key})


class _EngineSpeed:
    """Passes events on and keeps the engine bar's last rate: its average since the bar started
    (tqdm ``smoothing=0``), i.e. the run's s/step."""

    def __init__(self, emit: EventCallback) -> None:
        self.emit = emit
        self.sec_per_step: float | None = None

    def __call__(self, event: ProgressEvent) -> None:
        if event.kind == "step" and event.sec_per_step is not None:
            self.sec_per_step = event.sec_per_step
        self.emit(event)
