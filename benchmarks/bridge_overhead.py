"""Bridge overhead: ``python -m sd_scripts_bridge train`` against the bare engine command, same run.

Sides, run alternately in one session on one machine:

* bare: the plan's phase commands (from ``python -m sd_scripts_bridge plan --json``) run with
  ``subprocess.run``, output to a file: what a user would type in a shell;
* bridge: ``python -m sd_scripts_bridge train`` with the same arguments, a fresh process each time:
  the whole job (request key, run lock, plan, staging, RAM preflight, the supervised engine with live
  parsing, the LoRA checks, the atomic publish with metadata, the report);
* with ``--compare-root DIR``: the same command from another checkout (before/after a change).

The fixed cost of a bridge run is its wall time less the engine's. A small driver starts the CLI and
records when each engine process started and exited (``time.monotonic``: CLOCK_MONOTONIC, one clock
for every process), so the seconds the bridge adds before, between and after the engine runs are
measured directly instead of as the difference of two noisy walls (a 4-step CPU run of the real
engine takes minutes and swings by more than the bridge costs). The engine's lifetime here includes
the guard that starts it (``engine/guard.py``, a Python of its own). The wall ratio is printed too.

Engines:
  * default: the stand-in engine from devkit/stand_in_engine (a test double that sleeps
    ``--sec-per-step`` per step and writes a real-layout LoRA);
  * ``IDENTITY_LORA_ENGINE`` set: the real sd-scripts engine on CPU with the tiny random FLUX set
    (devkit/tiny_flux.py), one subject and one regularization image of the demo dataset and offline
    tokenizers, 4 steps. A warm-up bridge run stages the dataset and fills the latent and
    text-encoder caches (minutes, ~6.5 GB RAM); every timed run reuses them.

Usage: python benchmarks/bridge_overhead.py [--repeats 3] [--steps N] [--sec-per-step 0.5]
                                            [--compare-root DIR] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

ENGINE_ENV_VAR = "IDENTITY_LORA_ENGINE"
# Runs the CLI as ``python -m sd_scripts_bridge`` does, timing each engine process it starts.
DRIVER = r"""
import importlib.util, json, runpy, sys, threading, time
root, marks_path, *arguments = sys.argv[1:]
sys.path.insert(0, root)
name = "sd_scripts_bridge.run.runner"
runner = __import__(name if importlib.util.find_spec("sd_scripts_bridge.run") else "sd_scripts_bridge.runner",
                    fromlist=["EngineProcess"])
engines = []

class TimedEngineProcess(runner.EngineProcess):
    def __init__(self, *args, **kwargs):
        started = time.monotonic()
        super().__init__(*args, **kwargs)
        threading.Thread(target=self._timed, args=(started,), daemon=True).start()

    def _timed(self, started):
        self.process.wait()
        engines.append([started, time.monotonic()])

runner.EngineProcess = TimedEngineProcess
sys.argv = ["sd_scripts_bridge", *arguments]
try:
    runpy.run_module("sd_scripts_bridge", run_name="__main__", alter_sys=True)
finally:
    with open(marks_path, "w") as handle:
        json.dump({"engines": engines, "exited": time.monotonic(), "cpu": time.process_time()}, handle)
"""


@dataclass(frozen=True)
class Setup:
    label: str
    train_arguments: list[str]  # after ``train``, without --publish-dir
    environment: dict[str, str]
    engine_dir: Path  # the engine's working folder (its sd-scripts source)
    run_dir: Path


@dataclass(frozen=True)
class BridgeRun:
    wall: float
    engine: float  # the engine processes' lifetimes, summed
    before: float  # from starting the CLI to the first engine start
    after: float  # from the last engine exit to the CLI's exit
    cpu: float  # the CLI process's own CPU time

    @property
    def fixed(self) -> float:
        return self.wall - self.engine


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per side (alternating)")
    parser.add_argument("--steps", type=int, default=None, help="steps per run (stand-in 60, real 4)")
    parser.add_argument("--sec-per-step", type=float, default=0.5, help="stand-in engine only")
    parser.add_argument("--compare-root", type=Path, help="also time the CLI of this checkout")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the run folders here")
    return parser.parse_args()


def model_arguments(flux: Path, clip_l: Path, t5xxl: Path, ae: Path) -> list[str]:
    return ["--flux", str(flux), "--clip-l", str(clip_l), "--t5xxl", str(t5xxl), "--ae", str(ae)]


def stand_in_setup(workdir: Path, steps: int, sec_per_step: float) -> Setup:
    from PIL import Image

    from devkit.stand_in_engine import stand_in

    engine = stand_in.build_engine(workdir / "engine")
    photos = workdir / "photos"
    photos.mkdir(exist_ok=True)
    for index in range(4):
        Image.new("RGB", (64, 64), (index * 40, 90, 140)).save(photos / f"img_{index}.png")
        (photos / f"img_{index}.txt").write_text("ohwx person, smiling\n", encoding="utf-8")
    models = workdir / "models"
    base = stand_in.write_base_model(models / "flux_tiny.safetensors")
    for name in ("clip_l", "t5xxl", "ae"):
        (models / f"{name}.safetensors").write_bytes(b"stand-in model file")
    files = (models / f"{name}.safetensors" for name in ("clip_l", "t5xxl", "ae"))
    run_dir = workdir / "run"
    arguments = [
        "--engine", str(engine.root), "--allow-unpinned", "--cpu", "--images", str(photos),
        "--trigger-token", "ohwx", "--output-name", "ohwx_overhead", "--run-dir", str(run_dir),
        *model_arguments(base, *files),
        "--set", f"max_train_steps={steps}", "--set", "network_dim=16", "--set", "network_alpha=16",
        "--set", "lr_warmup_steps=1",
    ]  # fmt: skip
    environment = {**os.environ, "STAND_IN_SEC_PER_STEP": str(sec_per_step)}
    label = f"stand-in engine (test double), {steps} steps x {sec_per_step} s, rank 16"
    return Setup(label, arguments, environment, engine.source_dir, run_dir)


def real_setup(workdir: Path, steps: int) -> Setup:
    from devkit.demo_dataset import ensure_demo_dataset
    from devkit.tiny_flux import ensure_tiny_flux
    from devkit.tiny_training import TINY_OVERRIDES
    from devkit.tokenizers import ensure_tokenizers

    engine_root = Path(os.environ[ENGINE_ENV_VAR])
    models, tokenizers, data = ensure_tiny_flux(), ensure_tokenizers(), ensure_demo_dataset()
    folders = {"subject": data.subject[:1], "reg": data.regularization[:1]}
    for folder, images in folders.items():  # the tiny request's images, as folders the CLI reads
        (workdir / folder).mkdir(exist_ok=True)
        for image in images:
            shutil.copy(image.path, workdir / folder / image.path.name)
            (workdir / folder / image.path.with_suffix(".txt").name).write_text(
                image.caption, encoding="utf-8"
            )
    overrides = {**TINY_OVERRIDES, "max_train_steps": steps}
    run_dir = workdir / "run"
    arguments = [
        "--engine", str(engine_root), "--cpu",
        "--images", str(workdir / "subject"), "--reg", str(workdir / "reg"),
        "--trigger-token", data.trigger, "--class-word", data.class_word,
        "--output-name", "tiny_identity", "--run-dir", str(run_dir),
        *model_arguments(models.dit, models.clip_l, models.t5xxl, models.ae),
        "--tokenizer-cache-dir", str(tokenizers),
        *(item for key, value in overrides.items() for item in ("--set", f"{key}={json.dumps(value)}")),
    ]  # fmt: skip
    label = f"real sd-scripts engine at {engine_root} on CPU, tiny FLUX, {steps} steps"
    return Setup(label, arguments, dict(os.environ), engine_root / "sd-scripts", run_dir)


def bare_commands(setup: Setup, root: Path) -> list[list[str]]:
    """The plan's phase commands, as ``plan --json`` prints them."""
    printed = subprocess.run(
        [sys.executable, "-m", "sd_scripts_bridge", "plan", *setup.train_arguments, "--json"],
        cwd=root,
        env=setup.environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return [phase["argv"] for phase in json.loads(printed.stdout)["phases"]]


def engine_environment(run_dir: Path, base: dict[str, str]) -> dict[str, str]:
    """What the runner gives the engine: offline, its own empty HF_HOME, unbuffered output."""
    dropped = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONSAFEPATH")
    env = {key: value for key, value in base.items() if key not in dropped}
    home = run_dir / "hf_home_bare"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HOME=str(home), PYTHONUNBUFFERED="1")
    return env


def run_bare(setup: Setup, commands: list[list[str]], index: int) -> float:
    env = engine_environment(setup.run_dir, setup.environment)
    started = time.perf_counter()
    with (setup.run_dir / f"bare_{index}.log").open("wb") as log:
        for argv in commands:
            subprocess.run(
                argv, cwd=setup.engine_dir, env=env, stdout=log, stderr=subprocess.STDOUT, check=True
            )
    return time.perf_counter() - started


def run_bridge(setup: Setup, root: Path, publish_dir: Path) -> BridgeRun:
    """One ``train`` through the driver; a new publish folder, so the LoRA is trained, not reused."""
    marks_path = publish_dir.with_suffix(".marks.json")
    arguments = ["train", *setup.train_arguments, "--publish-dir", str(publish_dir)]
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", DRIVER, str(root), str(marks_path), *arguments],
        cwd=root,
        env=setup.environment,
        stdout=subprocess.DEVNULL,
        check=True,
    )
    wall = time.monotonic() - started
    marks = json.loads(marks_path.read_text(encoding="utf-8"))
    engines = sorted(marks["engines"])
    return BridgeRun(
        wall=wall,
        engine=sum(end - start for start, end in engines),
        before=engines[0][0] - started,
        after=marks["exited"] - engines[-1][1],
        cpu=marks["cpu"],
    )


def guard_cost(root: Path, repeats: int = 9) -> float:
    """What the engine guard adds to the engine's lifetime (its Python starting, then noticing the exit):
    the median of ``python -c pass`` under the guard less the same command alone."""
    guard = root / "sd_scripts_bridge" / "engine" / "guard.py"
    command = [sys.executable, "-c", "pass"]

    def timed(argv: list[str]) -> float:
        started = time.perf_counter()
        subprocess.run(argv, check=True)
        return time.perf_counter() - started

    alone, guarded = [], []
    for _ in range(repeats):
        alone.append(timed(command))
        guarded.append(timed([sys.executable, str(guard), str(os.getpid()), "--", *command]))
    return statistics.median(guarded) - statistics.median(alone)


def describe(label: str, runs: list[BridgeRun]) -> str:
    def median(values: list[float]) -> float:
        return statistics.median(values)

    fixed = [run.fixed for run in runs]
    wall, engine = median([r.wall for r in runs]), median([r.engine for r in runs])
    return (
        f"{label}: wall {wall:.2f} s, engine {engine:.2f} s, "
        f"fixed {median(fixed):.2f} s (runs {', '.join(f'{f:.2f}' for f in fixed)}; before the engine "
        f"{median([r.before for r in runs]):.2f} s, after it {median([r.after for r in runs]):.2f} s), "
        f"CLI CPU {median([r.cpu for r in runs]):.2f} s"
    )


def main() -> int:
    args = parse_args()
    real = bool(os.environ.get(ENGINE_ENV_VAR))
    steps = args.steps or (4 if real else 60)
    roots = {"bridge": REPO}
    if args.compare_root is not None:
        roots["compared"] = args.compare_root.resolve()
    with tempfile.TemporaryDirectory(prefix="bridge_overhead_") as scratch:
        workdir = (args.workdir or Path(scratch)).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        setup = real_setup(workdir, steps) if real else stand_in_setup(workdir, steps, args.sec_per_step)
        print(f"bridge overhead: {setup.label}")
        print(f"machine: {platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}")
        print(f"load average at the start: {', '.join(f'{load:.1f}' for load in os.getloadavg())}")
        for label, root in roots.items():
            print(f"{label}: {root}")
            # byte-compiled as an installed pack is (PYTHONDONTWRITEBYTECODE would otherwise make every
            # run compile the bridge's modules again)
            subprocess.run(
                [sys.executable, "-m", "compileall", "-q", str(root / "sd_scripts_bridge")], check=True
            )
        warmup = run_bridge(setup, REPO, workdir / "loras_warmup")
        print(f"warm-up (bridge: stages the dataset, fills the caches): {warmup.wall:.2f} s")
        commands = bare_commands(setup, REPO)
        bare: list[float] = []
        bridge: dict[str, list[BridgeRun]] = {label: [] for label in roots}
        for index in range(1, args.repeats + 1):
            bare.append(run_bare(setup, commands, index))
            line = f"run {index}: bare {bare[-1]:.2f} s"
            for label, root in roots.items():
                run = run_bridge(setup, root, workdir / f"loras_{label}_{index}")
                bridge[label].append(run)
                line += f"   {label} {run.wall:.2f} s (engine {run.engine:.2f} s, fixed {run.fixed:.2f} s)"
            print(line, flush=True)
        print(f"load average at the end: {', '.join(f'{load:.1f}' for load in os.getloadavg())}")
        bare_median = statistics.median(bare)
        print(f"bare: median {bare_median:.2f} s, spread {min(bare):.2f}-{max(bare):.2f} s (machine noise)")
        for label, runs in bridge.items():
            print(describe(label, runs))
            ratio = statistics.median(run.wall for run in runs) / bare_median
            print(f"  {label} / bare wall = {ratio:.4f}")
        guard = guard_cost(REPO)
        print(f"the engine guard's own start and exit, inside the engine's time above: {guard:.2f} s")
        for label, runs in bridge.items():
            fixed = statistics.median(run.fixed for run in runs)
            print(f"{label}: fixed cost with the guard {fixed + guard:.2f} s per run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
