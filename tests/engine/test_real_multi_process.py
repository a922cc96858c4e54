"""Two engine processes on CPU: the real sd-scripts engine under accelerate's multi-process launcher.

One module-scoped job through ``run_job`` (the node's and the CLI's path) with ``num_processes=2``
and ``cpu=True``: 1 subject + 1 regularization demo image, 64 px, rank 4, 2 steps, a state after
every step. It is cancelled as soon as the step-1 state is complete, then run again, which resumes
at step 1 and publishes. While it runs, the workers' environments are read from ``/proc``: both
have ``WORLD_SIZE=2`` (ranks 0 and 1), and the engine prints its device once in each of them. After
the cancel and after the end no process of the run is left. Skipped, with the reason, when
``IDENTITY_LORA_ENGINE`` is not set; wrap the run in ``flock /work/locks/engine.lock`` on a shared
machine (two engine processes at once cost about twice one's RAM).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from safetensors import safe_open

from devkit.tiny_training import tiny_request
from sd_scripts_bridge.errors import TrainingCancelledError
from sd_scripts_bridge.job import JobOptions, JobResult, place_run, run_job
from sd_scripts_bridge.model import ProgressEvent
from sd_scripts_bridge.run.loss_log import read_loss_csv
from sd_scripts_bridge.run_folder.states import newest_state
from tests.engine.test_real_training import processes_mentioning

pytestmark = [pytest.mark.engine, pytest.mark.timeout(3600)]
# train_util.prepare_accelerator prints "accelerator device: cpu:0" in every process (the two
# processes' writes can interleave: "accelerator device:accelerator device: cpu:0")
DEVICE_LINE = "accelerator device:"


@dataclass
class Watch:
    """Progress events, the workers' (RANK, WORLD_SIZE) seen in /proc, and when to cancel."""

    run_dir: Path
    cancel_when: Callable[[], bool] | None = None
    events: list[ProgressEvent] = field(default_factory=list)
    workers: set[tuple[str, str]] = field(default_factory=set)

    def on_event(self, event: ProgressEvent) -> None:
        self.events.append(event)
        print(f"[two processes] {event.kind} {event.phase} {event.step}/{event.total} {event.message[:80]}")
        self.workers |= worker_ranks(self.run_dir)

    def should_cancel(self) -> bool:
        return self.cancel_when is not None and self.cancel_when()

    def steps(self) -> list[int]:
        return sorted({e.step for e in self.events if e.kind == "step" and e.loss is not None})


def worker_ranks(run_dir: Path) -> set[tuple[str, str]]:
    """(RANK, WORLD_SIZE) of the live training workers of this run (their /proc environ)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            if "flux_train_network.py" not in cmdline or str(run_dir) not in cmdline:
                continue
            environ = dict(
                item.split("=", 1)
                for item in (entry / "environ").read_bytes().decode(errors="replace").split("\0")
                if "=" in item
            )
        except OSError:
            continue
        if "WORLD_SIZE" in environ:
            found.add((environ.get("RANK", "?"), environ["WORLD_SIZE"]))
    return found


@dataclass
class TwoProcessRun:
    run_dir: Path
    first: Watch
    cancelled: TrainingCancelledError
    left_after_cancel: list[str]
    second: Watch
    result: JobResult
    left_after_end: list[str]


@pytest.fixture(scope="module")
def two_processes(real_engine, engine_inputs, tmp_path_factory) -> TwoProcessRun:
    root = tmp_path_factory.mktemp("two_processes")
    request = place_run(
        tiny_request(engine_inputs, root / "runs", save_every_n_steps=1, num_processes=2), root / "runs"
    )
    output = Path(request.run_dir) / "output"
    first = Watch(request.run_dir, cancel_when=lambda: newest_state(output, request.output_name) is not None)
    with pytest.raises(TrainingCancelledError) as cancelled:
        run_job(request, real_engine, first.on_event, first.should_cancel)
    left_after_cancel = processes_mentioning(str(request.run_dir))
    second = Watch(request.run_dir)
    result = run_job(request, real_engine, second.on_event, options=JobOptions(resume=True))
    left_after_end = processes_mentioning(str(request.run_dir))
    return TwoProcessRun(
        Path(request.run_dir), first, cancelled.value, left_after_cancel, second, result, left_after_end
    )


def test_both_workers_join_one_process_group_of_two(two_processes):
    assert two_processes.first.workers | two_processes.second.workers == {("0", "2"), ("1", "2")}
    log = (two_processes.run_dir / "engine.log").read_text(encoding="utf-8", errors="replace")
    first_launch = re.split(r"^===== .* =====$", log, flags=re.MULTILINE)[1]  # engine_log.py headers
    assert first_launch.count(DEVICE_LINE) == 2, "the engine itself says so once in each process"


def test_cancel_stops_every_process_and_keeps_the_state(two_processes):
    assert two_processes.cancelled.resume_state is not None
    assert two_processes.cancelled.resume_state.name == "tiny_identity-step00000001-state"
    assert two_processes.left_after_cancel == []


def test_the_resumed_run_reaches_its_step_count_and_publishes(two_processes):
    result = two_processes.result
    assert result.training.resumed_at == 1 and two_processes.second.steps() == [2]
    assert result.training.steps == 2
    assert [int(row["step"]) for row in read_loss_csv(result.run_dir / "loss.csv")] == [1, 2]
    with safe_open(str(result.lora_path), framework="pt") as handle:
        metadata = handle.metadata()
        assert len(list(handle.keys())) == 39  # 13 modules of the 1 + 1 block DiT
    assert metadata["ss_steps"] == "2" and metadata["identity_lora_request_key"] == result.key
    assert two_processes.left_after_end == []
    print(f"[two processes] {result.summary}")
