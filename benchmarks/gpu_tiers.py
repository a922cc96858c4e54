"""VRAM tiers on a real NVIDIA GPU: s/step and peak VRAM per tier, bare engine versus the bridge.

For each tier of the Fast profile (12gb, 16gb, 24gb, 48gb, 80gb by default) the same plan runs
twice, a few dozen steps each: once as the bare engine command (``subprocess.run`` of the plan's
argv, output to a file) and once through ``run_training`` (the bridge the node uses). The model is
the full-size FLUX.1-dev layout (19 double + 38 single blocks) with random weights from
``devkit.tiny_flux`` (``full_size=True``: made once, ~11 GiB fp8 DiT + 4.4 GiB T5, then reused);
random weights cost the same compute as real ones. The dataset is the demo dataset (10 images).

s/step: from the engine's ``steps`` bar, (elapsed at the last step - elapsed at step ``--warmup``)
/ steps in between, so start-up and the first slow steps do not count (tqdm's elapsed has 1 s
resolution: with 40 steps that is about 0.03 s/step). Peak VRAM: ``nvidia-smi`` sampled every
200 ms during the run, minus what was used before it. The first run of a tier also fills the
latent and text-encoder caches of its run folder (start-up only, not s/step).

Needs an NVIDIA GPU (``nvidia-smi``) and the engine (``IDENTITY_LORA_ENGINE``); without them it
stops at once with the reason. Prints a markdown table for the README (with the GPU named).

Usage: python benchmarks/gpu_tiers.py [--steps 40] [--tiers 12gb,24gb,80gb] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

ALL_TIERS = ("12gb", "16gb", "24gb", "48gb", "80gb")
SAMPLE_MS = 200
BAR_RE = re.compile(
    r"(?<!validation )steps:\s+\d+%\|[^|]*\|\s*(?P<n>\d+)/(?P<total>\d+)\s*\[(?P<elapsed>[\d:]+)<"
)


class NoGpuError(SystemExit):
    """Raised (exit code 2) before anything heavy starts when there is no NVIDIA GPU."""


# ---------------------------------------------------------------------- pure parsing (unit-tested)


def parse_clock(text: str) -> float:
    """tqdm's ``MM:SS`` or ``H:MM:SS`` -> seconds."""
    seconds = 0.0
    for part in text.split(":"):
        seconds = seconds * 60 + int(part)
    return seconds


def bar_points(log_text: str) -> list[tuple[int, float]]:
    """(step, elapsed seconds) of each ``steps`` bar render, last render per step."""
    points: dict[int, float] = {}
    for piece in re.split(r"[\r\n]", log_text):
        for match in BAR_RE.finditer(piece):
            points[int(match.group("n"))] = parse_clock(match.group("elapsed"))
    return sorted(points.items())


def steady_sec_per_step(log_text: str, warmup: int = 5) -> float | None:
    """Seconds per step between step ``warmup`` and the last step (None: too few steps)."""
    points = [(n, t) for n, t in bar_points(log_text) if n >= warmup]
    if len(points) < 2 or points[-1][0] == points[0][0]:
        return None
    (n0, t0), (n1, t1) = points[0], points[-1]
    return (t1 - t0) / (n1 - n0)


def parse_memory_samples(text: str) -> list[float]:
    """``nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits`` lines -> MiB (GPU 0)."""
    samples = []
    for line in text.splitlines():
        first = line.split(",")[0].strip()
        if first.replace(".", "", 1).isdigit():
            samples.append(float(first))
    return samples


def peak_gib(samples: Sequence[float], baseline_mib: float) -> float | None:
    if not samples:
        return None
    return max(0.0, max(samples) - baseline_mib) / 1024


@dataclass(frozen=True)
class TierRow:
    tier: str
    settings: str
    bare_sec: float | None
    bridge_sec: float | None
    bare_peak_gib: float | None
    bridge_peak_gib: float | None
    table_sec: float | None  # the bridge's measured table (tiers.py)


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def markdown_table(rows: Sequence[TierRow], gpu_name: str, steps: int) -> str:
    lines = [
        f"GPU: {gpu_name}; Fast profile, full-size FLUX.1-dev random weights, {steps} steps per run",
        "",
        "| tier | memory settings | bare s/step | bridge s/step | overhead | bare peak VRAM | "
        "bridge peak VRAM | tiers.py s/step |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        overhead = "n/a"
        if row.bare_sec and row.bridge_sec:
            overhead = f"{100 * (row.bridge_sec / row.bare_sec - 1):+.1f}%"
        lines.append(
            f"| {row.tier} | {row.settings} | {_num(row.bare_sec)} | {_num(row.bridge_sec)} | {overhead} | "
            f"{_num(row.bare_peak_gib, 1)} GB | {_num(row.bridge_peak_gib, 1)} GB | {_num(row.table_sec)} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------- the GPU side


def require_gpu() -> str:
    """The GPU's name, or NoGpuError before anything heavy runs."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        raise NoGpuError(
            "gpu_tiers.py needs an NVIDIA GPU: nvidia-smi was not found (no CUDA driver here). "
            "Run it on a machine with an NVIDIA GPU and the engine installed (IDENTITY_LORA_ENGINE)."
        )
    done = subprocess.run(
        [smi, "--query-gpu=name,memory.total", "--format=csv,noheader"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise NoGpuError(f"gpu_tiers.py needs an NVIDIA GPU: nvidia-smi failed ({done.stderr.strip()}).")
    return done.stdout.strip().splitlines()[0]


class MemorySampler:
    """``nvidia-smi -lms`` in the background; ``stop()`` returns the samples in MiB."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", f"-lms={SAMPLE_MS}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    def stop(self) -> list[float]:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.thread.join(timeout=5)
        return parse_memory_samples("".join(self.lines))


def used_mib() -> float:
    done = subprocess.run(
        ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
        capture_output=True,
        text=True,
        check=True,
    )
    return parse_memory_samples(done.stdout)[0]


def measure(run) -> tuple[float, list[float], float]:
    """Call ``run()`` while sampling VRAM; return (baseline MiB, samples, wall seconds)."""
    baseline = used_mib()
    sampler = MemorySampler()
    started = time.monotonic()
    try:
        run()
    finally:
        samples = sampler.stop()
    return baseline, samples, time.monotonic() - started


def run_tier(tier: str, args, engine, inputs) -> TierRow:
    from sd_scripts_bridge.model import DatasetImage, PlanRequest
    from sd_scripts_bridge.plan import build_plan
    from sd_scripts_bridge.runner import engine_environment, run_training
    from sd_scripts_bridge.staging import prepare_run_dir
    from sd_scripts_bridge.tiers import describe, get_tier, memory_settings

    models, tokenizers, dataset, vram = inputs
    run_dir = args.workdir / tier

    def plan_for(name: str):
        request = PlanRequest(
            profile="fast",
            images=tuple(DatasetImage(i.path, i.caption) for i in dataset.subject[: args.images]),
            models=models.as_model_files(),
            output_name=f"{name}_{tier}",
            run_dir=run_dir,
            trigger_token=dataset.trigger,
            class_word=dataset.class_word,
            vram_tier=tier,
            detected_vram_gb=vram,
            overrides={"max_train_steps": args.steps, "lr_warmup_steps": 1},
            tokenizer_cache_dir=tokenizers,
            publish_dir=args.workdir / "published",
        )
        return build_plan(request, engine)

    bare_plan = plan_for("bare")
    prepare_run_dir(bare_plan)
    bare_log = run_dir / "bare_engine.log"
    argv = list(bare_plan.phases[0].argv)

    def bare() -> None:
        with bare_log.open("w") as log:
            subprocess.run(
                argv,
                cwd=engine.source_dir,
                env=engine_environment(run_dir),
                stdout=log,
                stderr=log,
                check=True,
            )

    print(f"[{tier}] bare engine, {args.steps} steps ...", flush=True)
    bare_base, bare_samples, bare_wall = measure(bare)
    bridge_plan = plan_for("bridge")
    print(f"[{tier}] bridge (run_training) ... (bare took {bare_wall:.0f} s)", flush=True)
    bridge_base, bridge_samples, _ = measure(lambda: run_training(bridge_plan, engine, overwrite=True))
    bridge_log = (run_dir / "engine.log").read_text(encoding="utf-8", errors="replace")
    bridge_log = bridge_log.rsplit("===== ", 1)[-1]  # this run's launch only
    settings = describe(memory_settings(get_tier(tier), 512))
    return TierRow(
        tier=tier,
        settings=settings,
        bare_sec=steady_sec_per_step(bare_log.read_text(encoding="utf-8", errors="replace"), args.warmup),
        bridge_sec=steady_sec_per_step(bridge_log, args.warmup),
        bare_peak_gib=peak_gib(bare_samples, bare_base),
        bridge_peak_gib=peak_gib(bridge_samples, bridge_base),
        table_sec=bridge_plan.tier.expected_sec_per_step,
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=40, help="steps per run (default 40)")
    parser.add_argument("--warmup", type=int, default=5, help="steps left out of s/step (default 5)")
    parser.add_argument("--images", type=int, default=10, help="demo images to train on (default 10)")
    parser.add_argument("--tiers", default=",".join(ALL_TIERS), help="comma-separated tiers")
    parser.add_argument("--workdir", type=Path, default=Path("gpu_tiers_runs"), help="run folders")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        gpu = require_gpu()
    except NoGpuError as error:
        print(error, file=sys.stderr)
        return 2
    from devkit.demo_dataset import ensure_demo_dataset
    from devkit.tiny_flux import ensure_tiny_flux
    from devkit.tokenizers import ensure_tokenizers
    from sd_scripts_bridge.engine import locate_engine

    engine = locate_engine()  # IDENTITY_LORA_ENGINE or the pack's engine/ folder
    vram = float(gpu.split(",")[1].strip().split()[0]) / 1024 if "," in gpu else None
    print(f"GPU: {gpu}; engine {engine.root} at {engine.commit}", flush=True)
    print("full-size random FLUX.1-dev weights (made once, then reused) ...", flush=True)
    models = ensure_tiny_flux(full_size=True)
    inputs = (models, ensure_tokenizers(), ensure_demo_dataset(), vram)
    args.workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for tier in [t.strip() for t in args.tiers.split(",") if t.strip()]:
        rows.append(run_tier(tier, args, engine, inputs))
        print(markdown_table(rows, gpu.split(",")[0], args.steps), flush=True)
    overheads = [r.bridge_sec / r.bare_sec - 1 for r in rows if r.bare_sec and r.bridge_sec]
    if overheads:
        print(f"median bridge overhead per step: {100 * statistics.median(overheads):+.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
