"""One training job, the same for every front end (the TrainIdentityLoRA node and ``train`` CLI).

``run_job`` owns the whole job around the engine run:

1. the request key (settings, model files, dataset content: ``plan/request_key.py``);
2. reuse: a LoRA already published for exactly this key is returned without training;
3. the run folder's lock, held to the end, so two servers never share a run (``run_folder/lock.py``);
4. the host (ComfyUI) unloads its models from VRAM and reports the free VRAM (``host_memory.py``);
5. the plan (``build_plan``: the ``auto`` tier from that free VRAM), with the key in the metadata;
   resume the run folder's newest saved state, or set an earlier run aside (``run_folder/resume.py``);
6. the RAM preflight (``run/ram_preflight.py``: the host drops its models from RAM too when needed);
7. the run itself (``run/runner.run_training``: supervised engine, progress, loss and validation
   capture, NaN/OOM/crash/cancel, checks, atomic publish), restarted on the next smaller tier
   after running out of GPU memory (``run/oom_recovery.py``);
8. the checkpoint list, the summary and ``training_report.json`` (``run/report.py``).

A caller that stops early (``should_stop``, ``run/early_stop.py``) gets the kept step checkpoint
published; such a LoRA is reused only by callers that stop early too (``JobOptions.early_stop``).
For anyone else the same request continues the run from its newest state to the end and replaces
the early-stopped file (it is this request's own; the key and run folder do not depend on the stop).

Front ends only turn their inputs into a :class:`PlanRequest`, relay the progress events and
show the :class:`JobResult`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .engine.folder import locate_engine
from .host_memory import MemoryHost
from .lora_file import read_metadata
from .model import (
    Checkpoint,
    Engine,
    PlanRequest,
    ProgressEvent,
    StopRequest,
    TrainingPlan,
    TrainingResult,
)
from .plan.build import build_plan, engine_output_dir
from .plan.profiles import ResolvedProfile, resolve_profile
from .plan.request_checks import check_output_name
from .plan.request_key import (
    REQUEST_KEY_METADATA,
    published_for_key,
    published_step,
    request_key,
    run_folder_name,
)
from .publish import publish_destination, refuse_existing
from .run.early_stop import stop_from_metadata
from .run.oom_recovery import Recovery, train_with_recovery
from .run.ram_preflight import RamCheck, check_ram
from .run.report import read_report, report_record, reused_summary, summary_text, write_report
from .run.samples import SAMPLE_FOLDER, images_in
from .run_folder.checkpoints import trusted_checkpoints
from .run_folder.lock import RunLock
from .run_folder.resume import choose_start

EventCallback = Callable[[ProgressEvent], None]
JOB_PHASE = "job"  # the phase name of the job's own events (reuse, set-aside, before training)


@dataclass(frozen=True)
class JobOptions:
    resume: bool = True  # continue a saved state of the same request; off: set the old run aside
    overwrite: bool = False  # replace a published LoRA of the same name trained from other inputs
    resume_from: Path | None = None  # this ``*-state`` folder instead of the newest one
    recover_from_oom: bool = True  # out of GPU memory: continue on the next smaller tier
    check_ram: bool = True  # refuse a run whose estimated RAM peak does not fit (off: only report it)
    holder: str = ""  # who runs the job, named to a second run that finds the run folder busy
    early_stop: bool = False  # the caller stops early: an early-stopped LoRA of this request is reused


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
    recoveries: tuple[Recovery, ...] = ()  # out-of-memory fallbacks, oldest first
    ram: RamCheck | None = None
    stopped_early: StopRequest | None = None  # the published LoRA is the checkpoint an early stop kept


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
    host: MemoryHost | None = None,
    should_stop: Callable[[], StopRequest | None] | None = None,
) -> JobResult:
    """Reuse, or plan, resume and train; raise a ``BridgeError`` subclass on any failure.

    ``engine`` None: the installed engine is located only when training is needed (a reused LoRA
    needs none). ``host`` (the node's ComfyUI) frees its models' VRAM before the plan is built, so
    the tier is chosen from the VRAM that is then free, and its RAM when the preflight needs it.
    ``should_stop`` is polled like ``should_cancel``; a :class:`StopRequest` ends the run at the next
    saved state and publishes its ``keep_step`` checkpoint (``JobResult.stopped_early``).
    """
    job = _Job(on_event, should_cancel, options or JobOptions(), host, should_stop)
    return job.run(request, engine)


class _Job:
    """One call of :func:`run_job`: its callbacks, options, host and clock."""

    def __init__(
        self,
        on_event: EventCallback | None,
        should_cancel: Callable[[], bool] | None,
        options: JobOptions,
        host: MemoryHost | None,
        should_stop: Callable[[], StopRequest | None] | None = None,
    ) -> None:
        self.emit = on_event or (lambda _event: None)
        self.should_cancel = should_cancel
        self.should_stop = should_stop
        self.options = options
        self.host = host
        self.started = time.monotonic()

    def run(self, request: PlanRequest, engine: Engine | None) -> JobResult:
        check_output_name(request.output_name)  # before a path is built from it
        profile = resolve_profile(request)  # once: the key and every plan of this job read it
        key = request_key(request, profile)
        destination = publish_destination(request)
        reused = self._reuse(request, destination, key)
        if reused is not None:
            return reused
        refuse_existing(destination, self._may_replace(destination, key))
        engine = engine or locate_engine()
        with RunLock(Path(request.run_dir), self.options.holder):
            # A server sharing this output folder may have finished the same job while this one
            # reached the lock: the check above is only the fast path, this one decides.
            reused = self._reuse(request, destination, key)
            if reused is not None:
                return reused
            overwrite = self._may_replace(destination, key)
            refuse_existing(destination, overwrite)
            earlier_stop = _stop_of(destination) if published_for_key(destination, key) else None
            if earlier_stop is not None:
                self._log(
                    f"{destination.name} was stopped early at step {earlier_stop.at_step}: "
                    "continuing its run to the end"
                )
            request, freed = self._free_vram(request)
            return self._train(request, profile, engine, key, freed, overwrite)

    def _reuse(self, request: PlanRequest, destination: Path, key: str) -> JobResult | None:
        """The LoRA published for this key, unless it was stopped early and this caller does not stop
        early (then the run continues to the end); or the checkpoint of this run that an evaluation
        of it published there (its key records the step: ``request_key.published_step``)."""
        step = published_step(destination, key)
        if step is not None:
            return self._reused(request, destination, key, None, step)
        if not published_for_key(destination, key):
            return None
        earlier_stop = _stop_of(destination)
        if earlier_stop is None or self.options.early_stop:
            return self._reused(request, destination, key, earlier_stop)
        return None

    def _may_replace(self, destination: Path, key: str) -> bool:
        """Replace the published file: asked for, or this request's own early-stopped LoRA."""
        return self.options.overwrite or published_for_key(destination, key)

    def _reused(
        self,
        request: PlanRequest,
        destination: Path,
        key: str,
        stop: StopRequest | None,
        step: int | None = None,
    ) -> JobResult:
        run_dir = Path(request.run_dir)
        summary = reused_summary(destination, key, read_report(run_dir))
        if step is not None:
            summary += (
                f"\n{destination.name} holds the checkpoint of step {step} of this run, which an evaluation "
                "of the run published; the file it replaced is in its folder's 'replaced' sub-folder"
            )
        self.emit(ProgressEvent(kind="log", phase=JOB_PHASE, message=f"reused {destination.name}"))
        samples = images_in([engine_output_dir(run_dir) / SAMPLE_FOLDER])
        return JobResult(
            key,
            destination,
            run_dir,
            summary,
            reused=True,
            samples=tuple(samples),
            checkpoints=trusted_checkpoints(run_dir),
            stopped_early=stop,
        )

    def _free_vram(self, request: PlanRequest) -> tuple[PlanRequest, str]:
        """The host unloads its models; the request then names the device that was freed."""
        if self.host is None:
            return request, ""
        release = self.host.release_vram()
        self._log(release.message)
        return dataclasses.replace(request, device=release.device or request.device), release.message

    def _train(
        self,
        request: PlanRequest,
        profile: ResolvedProfile,
        engine: Engine,
        key: str,
        freed: str,
        overwrite: bool,
    ) -> JobResult:
        """Resume or set aside, check RAM, run (smaller tiers after OOM), report."""
        plan = _plan_with_key(request, profile, engine, key)
        run_start = choose_start(plan, self.options.resume, self.options.resume_from)
        if run_start.set_aside is not None:
            self._log(f"set the earlier run aside: {run_start.set_aside.name}")
        ram = check_ram(plan, self.host, enforce=self.options.check_ram)
        self._log(ram.sentence())
        speed = _EngineSpeed(self.emit)
        run = train_with_recovery(
            plan,
            engine,
            replan=lambda tier: self._plan_on(request, profile, engine, key, tier),
            start=run_start.start,
            on_event=speed,
            should_cancel=self.should_cancel,
            overwrite=overwrite,
            enabled=self.options.recover_from_oom,
            should_stop=self.should_stop,
        )
        plan, training = run.plan, run.result
        wall = time.monotonic() - self.started
        notes = [ram.sentence(), *(recovery.sentence() for recovery in run.recoveries)]
        summary = summary_text(plan, training, wall, speed.sec_per_step, freed, notes)
        record = report_record(plan, training, key, summary, wall)
        record["ram"] = {"sentence": ram.sentence(), "estimated_peak_bytes": ram.estimate.peak_bytes}
        record["oom_recoveries"] = [recovery.record() for recovery in run.recoveries]
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
            report_path=write_report(plan.run_dir, record),
            recoveries=run.recoveries,
            ram=ram,
            stopped_early=training.stopped_early,
        )

    def _plan_on(
        self, request: PlanRequest, profile: ResolvedProfile, engine: Engine, key: str, tier: str
    ) -> TrainingPlan:
        """The same request on a smaller tier, after running out of GPU memory (RAM checked again)."""
        smaller = _plan_with_key(dataclasses.replace(request, vram_tier=tier), profile, engine, key)
        check_ram(smaller, self.host, enforce=self.options.check_ram)
        return smaller

    def _log(self, message: str) -> None:
        if message:
            self.emit(ProgressEvent(kind="log", phase=JOB_PHASE, message=message))


def _stop_of(lora_path: Path) -> StopRequest | None:
    """The early stop a published LoRA records (None: trained to the end, or unreadable)."""
    try:
        return stop_from_metadata(read_metadata(lora_path))
    except (OSError, ValueError):
        return None


def _plan_with_key(request: PlanRequest, profile: ResolvedProfile, engine: Engine, key: str) -> TrainingPlan:
    plan = build_plan(request, engine, profile)
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
