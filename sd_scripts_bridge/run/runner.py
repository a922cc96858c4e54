"""Run a :class:`TrainingPlan`: each phase as a supervised engine process, then check and publish.

Per phase: the engine command runs in its own process group with an offline environment, its
output goes to ``<run_dir>/engine.log`` and is parsed live into progress events and
``<run_dir>/loss.csv``. The supervising loop wakes at least every ``POLL_S`` seconds, so a
cancel request or a NaN loss stops the whole process tree promptly. Step checkpoints stay; of the
``-state`` dirs only the newest stays while the run goes (``run_folder/pruning.py``), so a cancelled
run can resume with ``--resume <state> --skip_until_initial_step`` and keep its step numbering,
and none stays once the LoRA is published.

A caller's early stop (``should_stop``, ``early_stop.py``) lets the engine reach a saved state at
or after the requested step, stops it like a cancel (the state stays: the run is resumable) and
publishes the requested step checkpoint instead of the final file.

Two-phase text-encoder training is two phases; phase 2 loads phase 1's file through
``--network_weights`` (already in its argv) and must keep the CLIP-L weights unchanged, which is
checked before publishing.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from ..engine.process import EngineProcess
from ..engine.process_memory import PeakSampler
from ..errors import (
    BadLoRAFileError,
    BridgeError,
    EngineCrashedError,
    EngineNotInstalledError,
    MissingOutputError,
    OutOfMemoryError,
    TrainingCancelledError,
    TrainingNaNError,
)
from ..lora_file import (
    LoRAExpectation,
    check_lora,
    differing_tensors,
    expectation_for,
    load_value_check_in_background,
)
from ..model import (
    Checkpoint,
    Engine,
    Phase,
    ProgressEvent,
    StopRequest,
    TrainingPlan,
    TrainingResult,
)
from ..plan.command import with_rendezvous_port
from ..plan.staging import prepare_run_dir
from ..plan.tiers import next_smaller_tier
from ..publish import publish_destination, publish_lora, refuse_existing
from ..run_folder.checkpoints import checkpoint_step, trusted_checkpoints
from ..run_folder.ledger import StateLedger
from ..run_folder.pruning import prune_older_states, remove_all_states
from ..run_folder.resume import (
    StartPoint,
    find_start,
    newest_resumable_state,
    resume_arguments,
    resumed_global_step,
)
from ..run_folder.states import SavedState
from .disk_use import measure_disk
from .early_stop import EarlyStop, kept_checkpoint, stop_metadata
from .engine_log import EngineLog, log_tail
from .loss_log import LossLog, read_loss_csv
from .progress import ProgressTracker, StreamParser
from .samples import sample_images
from .validation_log import FILE_NAME as VALIDATION_FILE
from .validation_log import ValidationLog
from .watch import RunFolderWatch

POLL_S = 0.1  # how often the loop checks should_cancel (the brief asks for <= 0.25 s)
EXIT_DRAIN_S = 5.0  # after the engine exits, how long to wait for its output pipes to close
OUT_OF_MEMORY_GRACE_S = 15.0  # an engine that printed OOM but keeps running is stopped after this
RUN_FOLDER_CHECK_S = 0.25  # how often the run folder (states, checkpoints, samples) is looked at
MEMORY_CHECK_S = 1.0  # how often the engine's RAM is measured while it runs
LOG_FILE = "engine.log"
HF_HOME_DIR = "hf_home"
LOSS_FILE = "loss.csv"
COMMAND_FILE = "command.json"
CONSOLE_LOG_TAIL_LINES = 8
# Variables that would make the engine's venv Python load ComfyUI's packages.
_ENV_DROPPED = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONSAFEPATH")

EventCallback = Callable[[ProgressEvent], None]


def run_training(
    plan: TrainingPlan,
    engine: Engine,
    on_event: EventCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
    resume_from: Path | None = None,
    overwrite: bool = False,
    start: StartPoint | None = None,
    should_stop: Callable[[], StopRequest | None] | None = None,
) -> TrainingResult:
    """Train, check and publish; raise a :class:`BridgeError` subclass on any failure.

    ``should_stop`` is polled like ``should_cancel``; once it returns a :class:`StopRequest` the
    engine is stopped at the next recorded state at or after that step and the request's
    ``keep_step`` checkpoint is published (``TrainingResult.stopped_early``). A resumed run first
    reports the sample images already on disk up to the resumed step ("earlier sample" events).

    ``start`` is where to begin (from :func:`find_start`, when the caller already asked);
    otherwise ``resume_from`` names a ``*-state`` dir, and without it the newest complete state
    of the plan's phases (if any) is resumed automatically. The LoRA is published to
    ``publish_destination(plan.request)`` and never replaces an existing file unless ``overwrite``.
    """
    destination = publish_destination(plan.request)
    refuse_existing(destination, overwrite)
    _check_engine(engine)
    run_dir = plan.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    _prepare_run_dir(plan)
    if start is None:
        start = find_start(plan, Path(resume_from) if resume_from is not None else None)
    resumed_at = resumed_global_step(plan, start)
    session = _Session(plan, engine, on_event, should_cancel, resumed_at, should_stop)
    try:
        session.report_earlier_samples()
        session.run_phases(start)
        return session.finish(destination, overwrite)
    finally:
        session.close()


def engine_environment(run_dir: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The engine's environment: offline Hugging Face, its own HF_HOME, unbuffered output."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in _ENV_DROPPED}
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_HOME=str(run_dir / HF_HOME_DIR),
        PYTHONUNBUFFERED="1",
    )
    return env


def fresh_hf_home(run_dir: Path) -> Path:
    """An empty HF_HOME for every launch: accelerate reads its default launch config from there
    (``accelerate/default_config.yaml``) and the Hugging Face libraries their caches, so nothing the
    pack did not write can change how the engine starts."""
    home = Path(run_dir) / HF_HOME_DIR
    if home.is_symlink() or home.is_file():
        home.unlink()
    elif home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    return home


def _check_engine(engine: Engine) -> None:
    if not engine.train_script.is_file():
        raise EngineNotInstalledError(engine.train_script, "flux_train_network.py is missing")
    if not engine.python.exists():
        raise EngineNotInstalledError(engine.python, "its Python is missing")


def _prepare_run_dir(plan: TrainingPlan) -> None:
    """Stage the dataset and write the TOML and sample prompts (the planner's staging module)."""
    prepare_run_dir(plan)
    _write_dataset_toml(plan)


def _write_dataset_toml(plan: TrainingPlan) -> None:
    path = plan.dataset_toml_path
    if not path.is_file() or path.read_text(encoding="utf-8") != plan.dataset_toml:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(plan.dataset_toml, encoding="utf-8")


class _Session:
    """One call of :func:`run_training`: the log, the loss CSV and what the phases produced."""

    def __init__(
        self,
        plan: TrainingPlan,
        engine: Engine,
        on_event: EventCallback | None,
        should_cancel: Callable[[], bool] | None,
        resumed_at: int | None,
        should_stop: Callable[[], StopRequest | None] | None = None,
    ) -> None:
        self.plan = plan
        self.engine = engine
        self.on_event = on_event
        self.should_cancel = should_cancel or (lambda: False)
        self.early_stop = EarlyStop(should_stop)
        self.stopped = False  # the engine was stopped early (or a requested stop was already due)
        self.log = EngineLog(plan.run_dir / LOG_FILE)
        self.loss_log = LossLog(plan.run_dir / LOSS_FILE, keep_through=resumed_at)
        self.validation_log = ValidationLog(plan.run_dir / VALIDATION_FILE, keep_through=resumed_at)
        self.folder_checked_at = 0.0
        self.resumed_at = resumed_at
        self.ledger = StateLedger.for_plan(plan)
        self.ledger.note_present(plan)
        self.watch = RunFolderWatch(plan, self.ledger)
        self.last_loss: float | None = None
        self.last_tracker: ProgressTracker | None = None
        self.checked: set[Path] = set()  # output files whose values were already checked
        self.peak_ram_bytes = 0  # the engine process tree's peak PSS over the phases run here
        self.value_check_loading: threading.Thread | None = None

    def close(self) -> None:
        self.loss_log.close()
        self.validation_log.close()
        self.log.close()

    def emit(self, event: ProgressEvent) -> None:
        self.loss_log.record(event)
        self.validation_log.record(event)
        if self.on_event is not None:
            self.on_event(event)

    def report_earlier_samples(self) -> None:
        if self.resumed_at is not None:
            for event in self.watch.earlier_sample_events(self.resumed_at):
                self.emit(event)

    def look_at_the_run_folder(
        self, phase: Phase, tracker: ProgressTracker, force: bool = False, settled: bool = False
    ) -> None:
        """Record and prune states, record finished checkpoints, report them and new sample images
        (at most every ``RUN_FOLDER_CHECK_S`` while the engine runs)."""
        now = time.monotonic()
        if not force and now - self.folder_checked_at < RUN_FOLDER_CHECK_S:
            return
        self.folder_checked_at = now
        for event in self.watch.look(phase, tracker, settled):
            self.emit(event)

    def run_phases(self, start: StartPoint) -> None:
        steps_before = 0
        for index, phase in enumerate(self.plan.phases):
            if index >= start.phase_index and not self.stopped:
                state = start.state if index == start.phase_index else None
                self._run_phase(phase, steps_before, state)
            steps_before += phase.max_train_steps

    def _run_phase(self, phase: Phase, steps_before: int, state: SavedState | None) -> None:
        if self.should_cancel():  # e.g. between the two phases of TE training
            raise TrainingCancelledError(self._resume_state(), self.plan.run_dir)
        if self.early_stop.due(self.watch.newest_state_step()):  # e.g. phase 1 ended past the step
            self._note_early_stop("did not start phase " + phase.name)
            return
        if phase.network_weights is not None:
            checked = phase.network_weights in self.checked
            check_lora(phase.network_weights, log_path=self.log.path, check_values=not checked)
        argv = with_rendezvous_port(phase.argv)
        if state is not None:
            argv += resume_arguments(state)
        _record_command(self.plan.run_dir / COMMAND_FILE, phase, argv)
        tracker = ProgressTracker(
            phase.name,
            self.plan.total_steps,
            steps_before,
            state.step if state else 0,
            validate_every=phase.validate_every_n_steps,
        )
        self.last_tracker = tracker
        resumed = f", resuming at step {tracker.global_step} from {state.path.name}" if state else ""
        self.emit(_phase_event(phase, tracker, f"phase {phase.name} started{resumed}"))
        self.log.header(phase.name, argv)
        fresh_hf_home(self.plan.run_dir)
        environment = {**engine_environment(self.plan.run_dir), **dict(phase.environment)}
        process = EngineProcess(argv, environment, cwd=self.engine.source_dir)
        if self.value_check_loading is None:  # the checks after the run need it; the engine is started
            self.value_check_loading = load_value_check_in_background()
        try:
            returncode = self._supervise(process, phase, tracker, PeakSampler([process.pid]))
        finally:
            if process.poll() is None or not process.output_closed:
                process.stop_tree()
            self.log.flush()
            self.loss_log.flush_step()
            self.validation_log.flush()
            self.look_at_the_run_folder(phase, tracker, force=True, settled=True)
            if tracker.last_loss is not None:
                self.last_loss = tracker.last_loss
        if not self.stopped:
            self._check_phase_result(phase, tracker, returncode)

    def _supervise(
        self, process: EngineProcess, phase: Phase, tracker: ProgressTracker, memory: PeakSampler
    ) -> int | None:
        """Relay the engine's output until it exits; None when it was stopped early."""
        parsers = {"stdout": StreamParser(), "stderr": StreamParser()}
        exited_at: float | None = None
        out_of_memory_at: float | None = None
        memory_checked_at = 0.0
        while True:
            for stream, text in process.chunks(POLL_S):
                self.log.write(text)
                self._handle(tracker, parsers[stream].feed(text))
                if tracker.first_bad_loss_step is not None:
                    break
            self.log.flush()
            stop_pending = self.early_stop.poll() is not None
            self.look_at_the_run_folder(phase, tracker, force=stop_pending)
            if tracker.first_bad_loss_step is not None:
                self._stop(process, "stopped the engine: the loss is NaN")
                raise TrainingNaNError(
                    tracker.first_bad_loss_step, self.log.path, self._tail(phase), self.plan.run_dir
                )
            if self.should_cancel():
                self._stop(process, "stopped the engine: cancelled by the user")
                raise TrainingCancelledError(self._resume_state(), self.plan.run_dir)
            if stop_pending and self.early_stop.due(self.watch.newest_state_step()):
                self._stop(process, "stopped the engine early")
                self._note_early_stop("stopped the engine")
                return None
            now = time.monotonic()
            if now - memory_checked_at >= MEMORY_CHECK_S:
                memory_checked_at = now
                memory.sample()
                self.peak_ram_bytes = max(self.peak_ram_bytes, memory.peak_pss)
            if tracker.out_of_memory_line is not None:
                out_of_memory_at = out_of_memory_at or now
                if now - out_of_memory_at > OUT_OF_MEMORY_GRACE_S and process.poll() is None:
                    self._stop(process, "stopped the engine: it ran out of memory and did not exit")
            returncode = process.poll()
            if returncode is not None:
                exited_at = exited_at or now
                if process.output_closed or now - exited_at > EXIT_DRAIN_S:
                    break
        for parser in parsers.values():
            self._handle(tracker, parser.close())
        return returncode

    def _handle(self, tracker: ProgressTracker, items: list) -> None:
        for event in tracker.events(items):
            self.emit(event)

    def _stop(self, process: EngineProcess, why: str) -> None:
        process.stop_tree()
        self.log.note(why)
        self.ledger.record_new(self.plan)

    def _note_early_stop(self, what: str) -> None:
        """Log why the run ends here: the caller's stop request and the state the run keeps."""
        request = self.early_stop.request
        assert request is not None
        self.stopped = True
        newest = self.watch.newest_state_step()
        message = (
            f"early stop at step {request.at_step} ({request.reason}): {what} after the state of step "
            f"{newest}; publishing the step-{request.keep_step} checkpoint"
        )
        self.log.note(message)
        phase = self.last_tracker.phase if self.last_tracker else self.plan.phases[0].name
        self.emit(
            ProgressEvent(
                kind="log", phase=phase, step=newest or 0, total=self.plan.total_steps, message=message
            )
        )

    def _resume_state(self) -> Path | None:
        return newest_resumable_state(self.plan, self.ledger)

    def _tail(self, phase: Phase) -> list[str]:
        """The last lines of engine.log, plus those of the engine's own log file when it has one."""
        tail = self.log.tail()
        if phase.engine_log is not None and phase.engine_log.is_file():
            tail += [f"--- {phase.engine_log} ---", *log_tail(phase.engine_log, CONSOLE_LOG_TAIL_LINES)]
        return tail

    def _check_phase_result(self, phase: Phase, tracker: ProgressTracker, returncode: int) -> None:
        tail = self._tail(phase)
        if tracker.out_of_memory_line is not None and returncode != 0:
            tier = self.plan.tier.name
            raise OutOfMemoryError(tier, _next_smaller_tier(tier), self.log.path, tail)
        if returncode != 0:
            raise EngineCrashedError(returncode, self.log.path, tail, phase.name)
        if tracker.first_bad_loss_step is not None:
            raise TrainingNaNError(tracker.first_bad_loss_step, self.log.path, tail, self.plan.run_dir)
        if not phase.output_file.is_file():
            raise MissingOutputError(phase.output_file, self.log.path, tail)
        check_lora(phase.output_file, self._expected(phase), self.log.path, tail)
        self.checked.add(phase.output_file)
        self.ledger.record_output(phase.output_file)
        self._check_text_encoder_kept(phase, tail)
        name = phase.output_file.name
        self.emit(_phase_event(phase, tracker, f"phase {phase.name} finished: {name}", phase.output_file))

    def _check_text_encoder_kept(self, phase: Phase, tail: list[str]) -> None:
        """Phase 2 of TE training (text_encoder_lr 0) must hand on phase 1's CLIP-L weights unchanged."""
        if phase.network_weights is None or not phase.network.keeps_text_encoder:
            return
        changed = differing_tensors(phase.network_weights, phase.output_file, "lora_te1_")
        if changed:
            raise BadLoRAFileError(
                phase.output_file,
                f"{len(changed)} CLIP-L LoRA tensors differ from phase 1's file (first: {changed[0]})",
                fix="train again without --network_train_unet_only in phase 2; report this if it persists",
                log_path=self.log.path,
                log_tail=tail,
            )

    def finish(self, destination: Path, overwrite: bool) -> TrainingResult:
        """Check the final file, or after an early stop the kept checkpoint, and publish it with our
        metadata; then delete the states the run no longer needs (all of them unless it stopped early)."""
        checkpoints = trusted_checkpoints(self.plan.run_dir)
        stop = self.early_stop.request  # asked for: the engine was stopped, or ended before it was due
        if stop is not None:
            phase, source, steps = self._kept(checkpoints, stop)
            loss = _loss_at(self.loss_log.path, steps, self.last_loss)
        else:
            phase, source, steps = self._final()
            loss = self.last_loss
        ours = {**self._our_metadata(steps), **(stop_metadata(stop) if stop else {})}
        metadata = publish_lora(source, destination, ours, overwrite=overwrite)
        if stop is not None:
            prune_older_states(self.plan, self.ledger)
        else:
            remove_all_states(self.plan, self.ledger)
        self.emit(
            ProgressEvent(
                kind="phase",
                phase=phase.name,
                step=steps,
                total=self.plan.total_steps,
                loss=loss,
                path=destination,
                message=f"published {destination.name}" + (f" (step-{steps} checkpoint)" if stop else ""),
            )
        )
        return TrainingResult(
            lora_path=destination,
            run_dir=self.plan.run_dir,
            log_path=self.log.path,
            loss_csv=self.loss_log.path,
            steps=steps,
            final_loss=loss,
            checkpoints=checkpoints,
            samples=tuple(sample_images(self.plan)),
            metadata=metadata,
            resumed_at=self.resumed_at,
            validation_csv=self.validation_log.path if self.validation_log.path.is_file() else None,
            engine_peak_ram_bytes=self.peak_ram_bytes or None,
            stopped_early=stop,
            disk=measure_disk(self.plan),
        )

    def _final(self) -> tuple[Phase, Path, int]:
        """The last phase's file, checked (its values once, right after its run)."""
        final_phase = self.plan.phases[-1]
        tail = self._tail(final_phase)
        if not final_phase.output_file.is_file():
            raise MissingOutputError(final_phase.output_file, self.log.path, tail)
        expect = self._expected(final_phase)
        checked = final_phase.output_file in self.checked
        report = check_lora(final_phase.output_file, expect, self.log.path, tail, check_values=not checked)
        return final_phase, final_phase.output_file, self._steps_done(report.metadata)

    def _kept(self, checkpoints: tuple[Checkpoint, ...], stop: StopRequest) -> tuple[Phase, Path, int]:
        """The recorded checkpoint the early stop keeps, checked like a final file of its phase."""
        checkpoint = kept_checkpoint(checkpoints, stop, self.plan.run_dir)
        phase = next(
            p for p in self.plan.phases if checkpoint_step(checkpoint.path, p.output_name) is not None
        )
        check_lora(checkpoint.path, self._expected(phase), self.log.path, self._tail(phase))
        return phase, checkpoint.path, checkpoint.step

    def _expected(self, phase: Phase) -> LoRAExpectation:
        """What the phase's LoRA file holds, from the phase's network and the plan's FLUX file."""
        return expectation_for(phase.network, self.plan.request.models.diffusion_model)

    def _steps_done(self, engine_metadata: dict[str, str]) -> int:
        steps_before_last = self.plan.total_steps - self.plan.phases[-1].max_train_steps
        ss_steps = engine_metadata.get("ss_steps", "")
        if ss_steps.isdigit():
            return steps_before_last + int(ss_steps)
        if self.last_tracker is not None:
            return self.last_tracker.global_step
        return self.plan.total_steps

    def _our_metadata(self, steps: int) -> dict[str, str]:
        ours = {str(k): str(v) for k, v in self.plan.metadata.items()}
        phases = [{"name": p.name, "max_train_steps": p.max_train_steps} for p in self.plan.phases]
        ours.setdefault("identity_lora_vram_tier", self.plan.tier.name)
        ours.setdefault("identity_lora_phases", json.dumps(phases))
        ours.setdefault("identity_lora_total_steps", str(steps))
        if self.engine.commit:
            ours.setdefault("identity_lora_engine_commit", self.engine.commit)
        return ours


def _loss_at(loss_csv: Path, step: int, otherwise: float | None) -> float | None:
    """The loss the run logged at global ``step`` (``otherwise`` when it has none)."""
    for row in read_loss_csv(loss_csv):
        if row.get("step") == str(step):
            try:
                return float(row["loss"])
            except (KeyError, ValueError):
                return otherwise
    return otherwise


def _phase_event(
    phase: Phase, tracker: ProgressTracker, message: str, path: Path | None = None
) -> ProgressEvent:
    return ProgressEvent(
        kind="phase",
        phase=phase.name,
        step=tracker.global_step,
        total=tracker.total,
        path=path,
        message=message,
    )


def _record_command(path: Path, phase: Phase, argv: list[str]) -> None:
    """Append this launch to ``command.json`` (a list: every launch, resumes included)."""
    launches = []
    if path.is_file():
        try:
            launches = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            launches = []
    launches.append({"phase": phase.name, "started_at": time.strftime("%Y-%m-%dT%H:%M:%S"), "argv": argv})
    path.write_text(json.dumps(launches, indent=2), encoding="utf-8")


def _next_smaller_tier(tier: str) -> str | None:
    """The planner's next smaller VRAM tier (None when unknown or already the smallest)."""
    try:
        return next_smaller_tier(tier)
    except (KeyError, ValueError, BridgeError):
        return None
