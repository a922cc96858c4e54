"""Bridge overhead: the same training through ``run_training`` and as the bare engine command.

Both sides run the same plan's phase commands with the same environment, alternately, in one
process: the bare side is ``subprocess.run(argv)`` with output to a file (what a user would type
in a shell); the bridge side is ``run_training`` (process group, live parsing, loss CSV, LoRA
checks, atomic publish with metadata). torch is imported before timing, as it is in ComfyUI's
process. The target is at most 2% more wall time.

Engines:
  * default: the stand-in engine from devkit/stand_in_engine (a test double that
    sleeps ``--sec-per-step`` per step and writes a real-layout LoRA);
  * ``IDENTITY_LORA_ENGINE`` set: the real sd-scripts engine on CPU with the tiny random FLUX set
    (devkit/tiny_flux.py), the demo dataset and offline tokenizers. A warm-up run fills the latent
    and text-encoder caches first (minutes, ~6.5 GB RAM), so every timed run reuses them.

The bridge's cost is a fixed ~0.3 s per run (LoRA value check, publish copy) plus the live parsing;
on a 2-core machine shared with other jobs the wall times vary by more than that, so the bridge's
own CPU time is printed too.

Usage: python benchmarks/bridge_overhead.py [--repeats 3] [--steps 60] [--sec-per-step 0.5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sd_scripts_bridge.engine.folder import ENGINE_ENV_VAR, locate_engine  # noqa: E402
from sd_scripts_bridge.model import Engine, TrainingPlan  # noqa: E402
from sd_scripts_bridge.plan.staging import prepare_run_dir  # noqa: E402
from sd_scripts_bridge.run.runner import engine_environment, run_training  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per side (alternating)")
    parser.add_argument("--steps", type=int, default=None, help="steps per run (stand-in 60, real 4)")
    parser.add_argument("--sec-per-step", type=float, default=0.5, help="stand-in engine only")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the run folders here")
    return parser.parse_args()


def stand_in_plan(workdir: Path, steps: int, sec_per_step: float) -> tuple[TrainingPlan, Engine, str]:
    from devkit.stand_in_engine import stand_in

    os.environ["STAND_IN_SEC_PER_STEP"] = str(sec_per_step)
    engine = stand_in.build_engine(workdir / "engine")
    plan = stand_in.make_plan(workdir, engine, steps=steps, save_every=None, rank=16)
    return plan, engine, f"stand-in engine (test double), {steps} steps x {sec_per_step} s, rank 16"


def real_plan(workdir: Path, steps: int) -> tuple[TrainingPlan, Engine, str]:
    from devkit.demo_dataset import ensure_demo_dataset
    from devkit.tiny_flux import ensure_tiny_flux
    from devkit.tiny_training import TINY_OVERRIDES, EngineInputs, tiny_request
    from devkit.tokenizers import ensure_tokenizers
    from sd_scripts_bridge.plan.build import build_plan

    engine = locate_engine(os.environ[ENGINE_ENV_VAR])
    inputs = EngineInputs(ensure_tiny_flux(), ensure_tokenizers(), ensure_demo_dataset())
    overrides = {**TINY_OVERRIDES, "max_train_steps": steps}
    plan = build_plan(tiny_request(inputs, workdir / "run", overrides=overrides), engine)
    return plan, engine, f"real sd-scripts engine {engine.commit} on CPU, tiny FLUX, {steps} steps"


def run_bare(plan: TrainingPlan, engine: Engine, index: int) -> float:
    """The phases' commands as a user would run them: output to a file, nothing else."""
    env = engine_environment(plan.run_dir)
    started = time.perf_counter()
    for phase in plan.phases:
        with (plan.run_dir / f"bare_{index}.log").open("wb") as log:
            subprocess.run(
                list(phase.argv),
                cwd=engine.source_dir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=True,
            )
    return time.perf_counter() - started


def run_bridge(plan: TrainingPlan, engine: Engine) -> tuple[float, float]:
    """Wall time, and the CPU time the bridge itself used in this process (parsing, checks, publish)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    run_training(plan, engine, overwrite=True)
    return time.perf_counter() - started, time.process_time() - cpu_started


def main() -> int:
    args = parse_args()
    real = bool(os.environ.get(ENGINE_ENV_VAR))
    steps = args.steps or (4 if real else 60)
    import torch  # noqa: F401  (loaded in ComfyUI's process before any training starts)

    with tempfile.TemporaryDirectory(prefix="bridge_overhead_") as scratch:
        workdir = args.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        plan, engine, label = (
            real_plan(workdir, steps) if real else stand_in_plan(workdir, steps, args.sec_per_step)
        )
        prepare_run_dir(plan)
        print(f"bridge overhead: {label}")
        print(f"machine: {platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}")
        warmup = run_bare(plan, engine, 0)
        print(f"warm-up (bare, fills caches): {warmup:.2f} s")
        bare, bridge = [], []
        for index in range(1, args.repeats + 1):
            bare.append(run_bare(plan, engine, index))
            wall, cpu = run_bridge(plan, engine)
            bridge.append(wall)
            print(
                f"run {index}: bare {bare[-1]:.2f} s   bridge {wall:.2f} s   (bridge's own CPU {cpu:.2f} s)"
            )
        bare_median, bridge_median = statistics.median(bare), statistics.median(bridge)
        overhead = (bridge_median / bare_median - 1) * 100
        print(f"median: bare {bare_median:.2f} s   bridge {bridge_median:.2f} s")
        print(f"bare run-to-run spread: {min(bare):.2f}-{max(bare):.2f} s (machine noise)")
        print(
            f"bridge / bare = {bridge_median / bare_median:.4f}  ({overhead:+.2f}% wall time; target <= +2%)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
