"""A real sd-scripts FLUX LoRA training on CPU through the bridge's Python API.

One module-scoped run (1 subject + 1 regularization demo image, 64 px, rank 4, 3 steps, a
checkpoint, a state and a one-step sample image of one prompt after every step) is cancelled as
soon as the step-1 state is complete and then resumed, so one run covers training, progress
events, sample events named by the engine's own file names, cancel, resume, state pruning, the
loss CSV, the step checkpoints and the published file, each loaded in ComfyUI (about 15 minutes
on 2 AVX2 cores; see tiny_run.py). Skipped, with the reason, when ``IDENTITY_LORA_ENGINE`` is not set.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from devkit.tiny_training import TINY_OVERRIDES, tiny_request
from sd_scripts_bridge.engine.pins import ENGINE_COMMIT
from sd_scripts_bridge.errors import TrainingCancelledError
from sd_scripts_bridge.model import EngineSamplePrompt, ProgressEvent, TrainingPlan, TrainingResult
from sd_scripts_bridge.plan.build import build_plan
from sd_scripts_bridge.run.loss_log import read_loss_csv
from sd_scripts_bridge.run.runner import run_training
from sd_scripts_bridge.run_folder.checkpoints import trusted_checkpoints
from sd_scripts_bridge.run_folder.states import newest_state

pytestmark = [pytest.mark.engine, pytest.mark.timeout(3600)]
HERE = Path(__file__).parent
RANK = 4
HIDDEN = 3072
STEPS = 3
SAMPLE_SEED = 7
# kohya module name -> (in_features, out_features) for a 1 double + 1 single block FLUX
EXPECTED_MODULES = {
    **{
        f"lora_unet_double_blocks_0_{side}_{name}": shape
        for side in ("img", "txt")
        for name, shape in {
            "attn_qkv": (HIDDEN, 3 * HIDDEN),
            "attn_proj": (HIDDEN, HIDDEN),
            "mlp_0": (HIDDEN, 4 * HIDDEN),
            "mlp_2": (4 * HIDDEN, HIDDEN),
            "mod_lin": (HIDDEN, 6 * HIDDEN),
        }.items()
    },
    "lora_unet_single_blocks_0_linear1": (HIDDEN, 7 * HIDDEN),
    "lora_unet_single_blocks_0_linear2": (5 * HIDDEN, HIDDEN),
    "lora_unet_single_blocks_0_modulation_lin": (HIDDEN, 3 * HIDDEN),
}


class Recorder:
    """Collects progress events; asks to cancel once ``cancel_when()`` holds."""

    def __init__(self, cancel_when: Callable[[], bool] | None = None) -> None:
        self.events: list[ProgressEvent] = []
        self.cancel_when = cancel_when

    def on_event(self, event: ProgressEvent) -> None:
        self.events.append(event)
        print(f"[engine test] {event.kind} {event.phase} {event.step}/{event.total} loss={event.loss}")

    def should_cancel(self) -> bool:
        return self.cancel_when is not None and self.cancel_when()

    def steps(self) -> list[int]:
        return sorted({e.step for e in self.events if e.kind == "step"})


@dataclass
class Run:
    plan: TrainingPlan
    cancelled: TrainingCancelledError
    left_running: list[str]
    first: Recorder
    second: Recorder
    result: TrainingResult


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that contain ``text`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{entry.name}: {cmdline[:200]}")
    return found


@pytest.fixture(scope="module")
def run(real_engine, engine_inputs, tmp_path_factory) -> Run:
    run_dir = tmp_path_factory.mktemp("frozen") / "run"
    data = engine_inputs.dataset
    prompt = EngineSamplePrompt(f"{data.trigger} {data.class_word}", seed=SAMPLE_SEED, steps=1)
    request = tiny_request(
        engine_inputs,
        run_dir,
        save_every_n_steps=1,
        sample_prompts=(prompt,),
        sample_every_n_steps=1,
        overrides={**TINY_OVERRIDES, "max_train_steps": STEPS},
    )
    plan = build_plan(request, real_engine)
    (phase,) = plan.phases
    # cancel while step 2 runs, as soon as the step-1 state is completely written
    first = Recorder(cancel_when=lambda: newest_state(phase.output_dir, phase.output_name) is not None)
    with pytest.raises(TrainingCancelledError) as cancelled:
        run_training(plan, real_engine, first.on_event, first.should_cancel)
    left_running = processes_mentioning(str(run_dir))
    second = Recorder()
    result = run_training(plan, real_engine, second.on_event)
    return Run(plan, cancelled.value, left_running, first, second, result)


def test_plan_is_one_frozen_phase_on_cpu(run):
    (phase,) = run.plan.phases
    assert phase.name == "train"
    assert "--network_train_unet_only" in phase.argv
    assert "--cpu" in phase.argv
    assert phase.argv[phase.argv.index("--max_train_steps") + 1] == str(STEPS)


def test_progress_events_carry_step_total_loss_and_checkpoints(run):
    steps = [e for e in run.first.events if e.kind == "step"]
    assert {e.step for e in steps} == {1}
    assert all(e.total == STEPS for e in steps)
    assert all(e.loss is not None and math.isfinite(e.loss) for e in steps)
    assert all(e.sec_per_step and e.sec_per_step > 0 for e in steps)
    saved = [e.path.name for e in run.first.events if e.kind == "checkpoint" and e.path]
    assert "tiny_identity-step00000001.safetensors" in saved
    final = [e for e in run.second.events if e.kind == "phase" and e.path]
    assert final and final[-1].path == run.result.lora_path


def test_cancel_stops_the_engine_and_keeps_a_resumable_state(run):
    assert run.cancelled.resume_state is not None
    assert run.cancelled.resume_state.name == "tiny_identity-step00000001-state"
    assert run.left_running == []


def test_resume_continues_the_step_count(run):
    assert run.second.steps() == [2, 3]
    assert all(e.total == STEPS for e in run.second.events if e.kind == "step")
    launches = json.loads((run.plan.run_dir / "command.json").read_text())
    last = launches[-1]["argv"]
    assert last[last.index("--resume") + 1] == str(run.cancelled.resume_state)
    assert "--skip_until_initial_step" in last
    assert run.result.steps == STEPS


def test_published_lora_has_the_kohya_keys_and_finite_weights(run):
    path = run.result.lora_path
    assert path == run.plan.request.publish_dir / "tiny_identity.safetensors"
    with safe_open(path, framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    parts = ("lora_down.weight", "lora_up.weight", "alpha")
    expected_keys = {f"{m}.{part}" for m in EXPECTED_MODULES for part in parts}
    assert set(tensors) == expected_keys  # 39 tensors
    for module, (fan_in, fan_out) in EXPECTED_MODULES.items():
        assert tuple(tensors[f"{module}.lora_down.weight"].shape) == (RANK, fan_in)
        assert tuple(tensors[f"{module}.lora_up.weight"].shape) == (fan_out, RANK)
        assert float(tensors[f"{module}.alpha"]) == RANK
    assert all(t.dtype == torch.bfloat16 for t in tensors.values())
    assert all(bool(torch.isfinite(t.float()).all()) for t in tensors.values())
    assert any(float(t.float().abs().max()) > 0 for k, t in tensors.items() if k.endswith("lora_up.weight"))


def test_published_lora_carries_engine_and_bridge_metadata(run):
    with safe_open(run.result.lora_path, framework="pt") as f:
        meta = f.metadata()
    assert meta["ss_network_module"] == "networks.lora_flux"
    assert meta["ss_network_dim"] == str(RANK)
    assert meta["ss_base_model_version"].startswith("flux1")
    for key, value in run.plan.metadata.items():
        assert meta[key] == str(value), key
    assert meta["identity_lora_engine_commit"] == ENGINE_COMMIT


def test_loss_csv_has_one_finite_row_per_step(run):
    rows = read_loss_csv(run.result.loss_csv)
    assert [int(r["step"]) for r in rows] == [1, 2, 3]
    assert all(math.isfinite(float(r["loss"])) for r in rows)


def comfy_reports(dit: Path, loras: list[Path]) -> list[dict]:
    """comfy_lora_check.py's report for each LoRA, from a real ComfyUI (the DiT loaded once)."""
    cache = Path(os.environ.get("IDENTITY_LORA_CACHE", Path.home() / ".cache" / "flux-identity-lora"))
    comfy_dir = Path(os.environ.get("COMFYUI_DIR", cache / "comfyui"))
    proc = subprocess.run(
        [sys.executable, HERE / "comfy_lora_check.py", dit, *loras],
        cwd=comfy_dir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("REPORT ")]
    assert proc.returncode == 0 and len(lines) == len(loras), proc.stderr[-3000:]
    return [json.loads(line[len("REPORT ") :]) for line in lines]


def test_published_lora_applies_fully_in_comfyui(run, engine_inputs):
    (report,) = comfy_reports(engine_inputs.models.dit, [run.result.lora_path])
    assert report["not_loaded"] == []
    assert len(report["patched_weights"]) == len(EXPECTED_MODULES)


def test_sample_events_name_the_engines_step_and_prompt(run):
    """The engine's own sample file names give each image its step and prompt; the resumed call
    first reports the image it had already written ("earlier sample"), and the prompt's own seed
    and step count reached the engine."""
    first = [(e.step, e.sample_index) for e in run.first.events if e.kind == "sample"]
    assert first[:1] == [(1, 0)], first
    second = [e for e in run.second.events if e.kind == "sample"]
    earlier = [(e.step, e.sample_index) for e in second if e.message.startswith("earlier sample")]
    assert earlier == [(1, 0)]
    assert [(e.step, e.sample_index) for e in second[1:]] == [(2, 0), (3, 0)]
    names = [rf"tiny_identity_{e.step:06d}_00_\d{{14}}_{SAMPLE_SEED}\.png" for e in second]
    assert all(re.fullmatch(name, e.path.name) for name, e in zip(names, second, strict=True)), names
    (phase,) = run.plan.phases
    assert "sample_steps: 1" in phase.engine_log.read_text(encoding="utf-8")


def test_every_checkpoint_is_recorded_and_only_the_states_are_deleted(run):
    checkpoints = trusted_checkpoints(run.plan.run_dir)
    assert [(c.step, c.path.name) for c in checkpoints] == [
        (step, f"tiny_identity-step{step:08d}.safetensors") for step in range(1, STEPS + 1)
    ]
    assert run.result.checkpoints == checkpoints
    assert list(run.plan.phases[0].output_dir.glob("*-state")) == []  # published: nothing to resume
    assert run.result.disk.state_bytes == 0 and run.result.disk.checkpoint_bytes > 0


def test_every_step_checkpoint_applies_fully_in_comfyui(run, engine_inputs):
    paths = [c.path for c in run.result.checkpoints]
    assert len(paths) == STEPS
    reports = comfy_reports(engine_inputs.models.dit, paths)
    assert [report["lora"] for report in reports] == [str(path) for path in paths]
    for report in reports:
        assert report["not_loaded"] == [], report["lora"]
        assert len(report["patched_weights"]) == len(EXPECTED_MODULES), report["lora"]
