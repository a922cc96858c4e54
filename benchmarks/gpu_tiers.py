"""VRAM tiers on a real NVIDIA GPU: s/step and peak VRAM per tier, bare engine versus the bridge.

For each tier of the Fast profile (every tier from 8gb to 80gb by default) the same plan runs
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

Any card works, 8 GB to 80 GB: a tier that needs more free VRAM than the card has before the
run (``tiers.py`` ``min_free_vram_gib``) is skipped unless ``--force``, and a tier that runs out of
memory is a row that says so, not the end of the benchmark. The bridge run also reports the engine
process tree's peak RAM (PSS), the figure ``ram_preflight.py`` estimates.

Needs an NVIDIA GPU (``nvidia-smi``) and the engine (``IDENTITY_LORA_ENGINE``); without them it
stops at once with the reason. Prints a markdown table for the README (with the GPU named).
``--dry-run DIR`` prints the table from canned files instead (no GPU, no engine): ``gpu.txt`` (one
``nvidia-smi --query-gpu=name,memory.total,memory.free --format=csv,noheader`` line) and, per
tier, ``<tier>.bare.log`` / ``<tier>.bridge.log`` (engine output) and ``<tier>.bare.smi`` /
``<tier>.bridge.smi`` (``nvidia-smi`` memory samples, the first one the baseline).

Usage: python benchmarks/gpu_tiers.py [--steps 40] [--tiers 12gb,24gb,80gb] [--workdir DIR] [--force]
       python benchmarks/gpu_tiers.py --dry-run DIR
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

from sd_scripts_bridge.plan.tiers import TIER_ORDER  # noqa: E402  (pure Python, no GPU needed)

ALL_TIERS = TIER_ORDER
GPU_QUERY = "--query-gpu=name,memory.total,memory.free"
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
    note: str = ""  # "out of memory", "skipped: ...": why a row has no figures
    engine_ram_gb: float | None = None  # the engine's peak PSS during the bridge run


@dataclass(frozen=True)
class Gpu:
    name: str
    total_gib: float | None
    free_gib: float | None


def parse_gpu(line: str) -> Gpu:
    """``name, 24564 MiB, 23012 MiB`` (``nvidia-smi GPU_QUERY --format=csv,noheader``) -> Gpu."""
    parts = [part.strip() for part in line.strip().split(",")]

    def mib(index: int) -> float | None:
        if index >= len(parts):
            return None
        number = parts[index].split()[0] if parts[index] else ""
        return float(number) / 1024 if number.replace(".", "", 1).isdigit() else None

    return Gpu(parts[0], mib(1), mib(2))


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _gb(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} GB"


def markdown_table(rows: Sequence[TierRow], gpu_name: str, steps: int) -> str:
    lines = [
        f"GPU: {gpu_name}; Fast profile, full-size FLUX.1-dev random weights, {steps} steps per run",
        "",
        "| tier | memory settings | bare s/step | bridge s/step | overhead | bare peak VRAM | "
        "bridge peak VRAM | engine peak RAM | tiers.py s/step | note |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        overhead = "n/a"
        if row.bare_sec and row.bridge_sec:
            overhead = f"{100 * (row.bridge_sec / row.bare_sec - 1):+.1f}%"
        lines.append(
            f"| {row.tier} | {row.settings} | {_num(row.bare_sec)} | {_num(row.bridge_sec)} | {overhead} | "
            f"{_gb(row.bare_peak_gib)} | {_gb(row.bridge_peak_gib)} | {_gb(row.engine_ram_gb)} | "
            f"{_num(row.table_sec)} | {row.note} |"
        )
    return "\n".join(lines)


def canned_row(folder: Path, tier: str, warmup: int) -> TierRow:
    """A table row from the canned files of one tier (``--dry-run``)."""
    from sd_scripts_bridge.plan.tiers import describe, expected_sec_per_step, get_tier, memory_settings

    def text(suffix: str) -> str:
        path = folder / f"{tier}.{suffix}"
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""

    def peak(suffix: str) -> float | None:
        samples = parse_memory_samples(text(suffix))
        return peak_gib(samples[1:], samples[0]) if samples else None

    bare, bridge = text("bare.log"), text("bridge.log")
    note = "out of memory" if "out of memory" in (bare + bridge).lower() else ""
    return TierRow(
        tier=tier,
        settings=describe(memory_settings(get_tier(tier), 512)),
        bare_sec=steady_sec_per_step(bare, warmup),
        bridge_sec=steady_sec_per_step(bridge, warmup),
        bare_peak_gib=peak("bare.smi"),
        bridge_peak_gib=peak("bridge.smi"),
        table_sec=expected_sec_per_step(get_tier(tier), 512),
        note=note,
    )


def dry_run(folder: Path, tiers: Sequence[str], steps: int, warmup: int) -> str:
    gpu = parse_gpu((folder / "gpu.txt").read_text(encoding="utf-8"))
    rows = [canned_row(folder, tier, warmup) for tier in tiers if (folder / f"{tier}.bridge.log").is_file()]
    return markdown_table(rows, f"{gpu.name} (canned input, --dry-run)", steps)


def skip_reason(tier: str, gpu: Gpu, force: bool) -> str:
    """Why a tier is not run on this card ("" when it is)."""
    from sd_scripts_bridge.plan.tiers import get_tier

    needed = get_tier(tier).min_free_vram_gib
    if force or gpu.free_gib is None or gpu.free_gib >= needed:
        return ""
    return f"skipped: needs {needed:g} GiB free, {gpu.free_gib:.1f} GiB free (--force runs it)"


# ---------------------------------------------------------------------- the GPU side


def require_gpu() -> Gpu:
    """GPU 0 (name, total and free memory), or NoGpuError before anything heavy runs."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        raise NoGpuError(
            "gpu_tiers.py needs an NVIDIA GPU: nvidia-smi was not found (no CUDA driver here). "
            "Run it on a machine with an NVIDIA GPU and the engine installed (IDENTITY_LORA_ENGINE)."
        )
    done = subprocess.run(
        [smi, GPU_QUERY, "--format=csv,noheader"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise NoGpuError(f"gpu_tiers.py needs an NVIDIA GPU: nvidia-smi failed ({done.stderr.strip()}).")
    return parse_gpu(done.stdout.strip().splitlines()[0])


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
    from sd_scripts_bridge.errors import OutOfMemoryError
    from sd_scripts_bridge.model import DatasetImage, DeviceReport, PlanRequest
    from sd_scripts_bridge.plan.build import build_plan
    from sd_scripts_bridge.plan.staging import prepare_run_dir
    from sd_scripts_bridge.plan.tiers import describe, get_tier, memory_settings
    from sd_scripts_bridge.run.runner import engine_environment, run_training

    models, tokenizers, dataset, gpu = inputs
    settings = describe(memory_settings(get_tier(tier), 512))
    skipped = skip_reason(tier, gpu, args.force)
    if skipped:
        return TierRow(tier, settings, None, None, None, None, None, note=skipped)
    device = DeviceReport(gpu.free_gib, gpu.total_gib, gpu.name, 1, "nvidia-smi before the run")
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
            device=device,
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
    try:
        bare_base, bare_samples, bare_wall = measure(bare)
    except subprocess.CalledProcessError:
        return TierRow(tier, settings, None, None, None, None, None, note=oom_or_crash(bare_log))
    bridge_plan = plan_for("bridge")
    print(f"[{tier}] bridge (run_training) ... (bare took {bare_wall:.0f} s)", flush=True)
    results = []
    try:
        bridge_base, bridge_samples, _ = measure(
            lambda: results.append(run_training(bridge_plan, engine, overwrite=True))
        )
    except OutOfMemoryError:
        return TierRow(tier, settings, None, None, None, None, None, note="out of memory (bridge run)")
    bridge_log = (run_dir / "engine.log").read_text(encoding="utf-8", errors="replace")
    bridge_log = bridge_log.rsplit("===== ", 1)[-1]  # this run's launch only
    ram = results[0].engine_peak_ram_bytes if results else None
    return TierRow(
        tier=tier,
        settings=settings,
        bare_sec=steady_sec_per_step(bare_log.read_text(encoding="utf-8", errors="replace"), args.warmup),
        bridge_sec=steady_sec_per_step(bridge_log, args.warmup),
        bare_peak_gib=peak_gib(bare_samples, bare_base),
        bridge_peak_gib=peak_gib(bridge_samples, bridge_base),
        table_sec=bridge_plan.tier.expected_sec_per_step,
        engine_ram_gb=ram / 1e9 if ram else None,
    )


def oom_or_crash(log: Path) -> str:
    text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
    return "out of memory" if "out of memory" in text.lower() else f"engine failed, see {log}"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=40, help="steps per run (default 40)")
    parser.add_argument("--warmup", type=int, default=5, help="steps left out of s/step (default 5)")
    parser.add_argument("--images", type=int, default=10, help="demo images to train on (default 10)")
    parser.add_argument("--tiers", default=",".join(ALL_TIERS), help="comma-separated tiers")
    parser.add_argument("--workdir", type=Path, default=Path("gpu_tiers_runs"), help="run folders")
    parser.add_argument("--force", action="store_true", help="also run tiers the free VRAM is short of")
    parser.add_argument("--dry-run", type=Path, metavar="DIR", help="print the table from canned files")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    tiers = [t.strip() for t in args.tiers.split(",") if t.strip()]
    if args.dry_run is not None:
        print(dry_run(args.dry_run, tiers, args.steps, args.warmup))
        return 0
    try:
        gpu = require_gpu()
    except NoGpuError as error:
        print(error, file=sys.stderr)
        return 2
    from devkit.demo_dataset import ensure_demo_dataset
    from devkit.tiny_flux import ensure_tiny_flux
    from devkit.tokenizers import ensure_tokenizers
    from sd_scripts_bridge.engine.folder import locate_engine

    engine = locate_engine()  # IDENTITY_LORA_ENGINE or the pack's engine/ folder
    print(f"GPU: {gpu.name}, {gpu.free_gib} GiB free; engine {engine.root} at {engine.commit}", flush=True)
    print("full-size random FLUX.1-dev weights (made once, then reused) ...", flush=True)
    models = ensure_tiny_flux(full_size=True)
    inputs = (models, ensure_tokenizers(), ensure_demo_dataset(), gpu)
    args.workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for tier in tiers:
        rows.append(run_tier(tier, args, engine, inputs))
        print(markdown_table(rows, gpu.name, args.steps), flush=True)
    overheads = [r.bridge_sec / r.bare_sec - 1 for r in rows if r.bare_sec and r.bridge_sec]
    if overheads:
        print(f"median bridge overhead per step: {100 * statistics.median(overheads):+.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
