"""Before the engine starts: will its RAM peak fit in the RAM that is available?

The engine loads the four FLUX files itself (lazily, through mmap: untouched pages cost nothing),
so its peak RAM follows the files' size. The estimate is

    peak = ratio x (DiT + CLIP-L + T5-XXL + AE file sizes) x processes

with the ratio measured (``RAM_RATIOS``) for the tier's base precision and for whether the
text-encoder outputs still have to be cached (the first run of a request: the T5-XXL is read and
run) or are already on disk (a resumed run: the T5 is mapped but hardly touched). Several
processes each load their own copy; shared file pages make the real peak lower, so that term is an
upper bound on GPUs; on the CPU each worker copies the weights (``CPU_WORKER_RATIO``, measured). On
a GPU the models move to VRAM after loading, so the CPU-measured ratios are an upper bound there as
well: everything here is an estimate, and says so.

It is compared with ``MemAvailable``. When the estimate does not fit, the host (ComfyUI) is asked
to drop its models from RAM as well; when it still does not fit, the run is refused with the
figures and the fix, instead of the machine swapping or the kernel killing the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import BridgeError
from .host_memory import MemoryHost, Release
from .model import TrainingPlan
from .process_memory import available_ram_bytes, gb


@dataclass(frozen=True)
class RamRatio:
    caching: float  # engine (+ ComfyUI) peak / model files, first run: text-encoder outputs cached
    training: float  # the same with the caches already on disk
    source: str


# The engine's part of the peak PSS of ComfyUI plus the engine (the peak less ComfyUI's own, which
# MemAvailable already leaves out) over the model files' size: tiny FLUX set (6.43 GB of files, 74%
# of it the fp8 T5-XXL) through TrainIdentityLoRA on CPU, benchmarks/ram_peak.py, README "Measured
# figures". Full-size sets are mostly DiT, so applied to them these are estimates.
RAM_RATIOS = {
    "fp8": RamRatio(
        caching=1.17,
        training=0.48,
        source="measured on the tiny FLUX set on CPU: (8.22 - 0.67) / 6.43 and (3.82 - 0.74) / 6.43 GB",
    ),
    "bf16": RamRatio(
        caching=2.43,
        training=2.35,
        source="measured on the tiny FLUX set on CPU: (16.67 - 1.07) / 6.43 and (16.18 - 1.07) / 6.43 GB; "
        "without fp8 base the engine converts the T5-XXL to bf16",
    ),
}


# CPU runs with several processes: each worker moves every model from "cpu" to its own "cpu:0"
# device, which copies the memory-mapped weights into its own memory. Measured with two workers of
# the tiny set, text-encoder outputs cached: 17.4 GB PSS for the engine over 6.43 GB of files, 1.31
# per process (tests/engine/test_real_multi_process.py's run folder).
CPU_WORKER_RATIO = 1.31


@dataclass(frozen=True)
class RamEstimate:
    peak_bytes: int
    files_bytes: int
    ratio: float
    processes: int
    caching: bool
    precision: str
    source: str

    def sentence(self) -> str:
        stage = "with text-encoder caching" if self.caching else "text-encoder outputs already cached"
        times = f" x {self.processes} processes" if self.processes > 1 else ""
        files = f"{gb(self.files_bytes):.1f} GB of model files{times}"
        return (
            f"engine peak RAM about {gb(self.peak_bytes):.1f} GB (estimate: {self.ratio:g} x {files}, "
            f"{self.precision} base, {stage}; {self.source})"
        )


@dataclass(frozen=True)
class RamCheck:
    estimate: RamEstimate
    available_bytes: int | None  # None: not measurable here
    released: str = ""  # what the host freed to make room (empty: nothing was needed)

    def sentence(self) -> str:
        if self.available_bytes is None:
            return f"RAM not checked (no /proc/meminfo on this system): {self.estimate.sentence()}"
        text = f"RAM: {self.estimate.sentence()}; {gb(self.available_bytes):.1f} GB available"
        return text + (f" after {self.released}" if self.released else "")


class RamPreflightError(BridgeError):
    """The engine's estimated RAM peak does not fit, even after the host dropped its models."""

    def __init__(self, estimate: RamEstimate, available: int, release: Release | None, largest: Path) -> None:
        self.estimate = estimate
        self.available_bytes = available
        freed = f" after {release.message}" if release is not None else ""
        held = ""
        if release is not None and release.held_ram_bytes:
            names = f" ({', '.join(release.held_models)})" if release.held_models else ""
            size = gb(release.held_ram_bytes)
            held = f"; ComfyUI still holds {size:.1f} GB in models this workflow uses{names}"
        super().__init__(
            what=(
                f"Not enough RAM to start the training engine: {estimate.sentence()}, and only "
                f"{gb(available):.1f} GB is available{freed}{held}"
            ),
            fix=(
                "close other programs; if the workflow loads FLUX models before training, make the loaders "
                "wait for the training result (link their file names to TrainIdentityLoRA's outputs, as the "
                "shipped workflows do) or queue the training alone; use fp8 model files (flux1-dev fp8, "
                "t5xxl_fp8_e4m3fn: half the size); or add RAM or swap"
            ),
            path=largest,
        )


def model_files(plan: TrainingPlan) -> list[Path]:
    models = plan.request.models
    return [Path(models.diffusion_model), Path(models.clip_l), Path(models.t5xxl), Path(models.ae)]


def text_encoder_outputs_cached(plan: TrainingPlan) -> bool:
    """Whether every staged image already has its ``<stem>_flux_te.npz`` (the engine's cache file)."""
    staging = plan.staging
    if staging is None:
        return False
    folders = [(staging.subject_dir, staging.subject), (staging.reg_dir, staging.reg)]
    for folder, images in folders:
        for image in images:
            if folder is None or not (folder / f"{Path(image.staged_name).stem}_flux_te.npz").is_file():
                return False
    return True


def estimate_engine_ram(plan: TrainingPlan) -> RamEstimate:
    files = sum(path.stat().st_size for path in model_files(plan) if path.is_file())
    precision = "fp8" if plan.settings.get("fp8_base", True) else "bf16"
    ratios = RAM_RATIOS[precision]
    caching = not text_encoder_outputs_cached(plan)
    ratio = ratios.caching if caching else ratios.training
    processes = max(1, plan.request.num_processes)
    source = ratios.source
    if plan.request.cpu and processes > 1 and ratio < CPU_WORKER_RATIO:
        ratio, source = CPU_WORKER_RATIO, "measured per CPU worker: each copies the weights to its device"
    return RamEstimate(
        peak_bytes=int(ratio * files) * processes,
        files_bytes=files,
        ratio=ratio,
        processes=processes,
        caching=caching,
        precision=precision,
        source=source,
    )


def check_ram(
    plan: TrainingPlan,
    host: MemoryHost | None = None,
    available: Callable[[], int | None] = available_ram_bytes,
) -> RamCheck:
    """Estimate, compare, ask the host to free RAM when needed; raise RamPreflightError if it still
    does not fit."""
    estimate = estimate_engine_ram(plan)
    free = available()
    if free is None or estimate.peak_bytes <= free:
        return RamCheck(estimate, free)
    release = host.release_ram() if host is not None else None
    free = available() or 0
    if estimate.peak_bytes > free:
        largest = max(model_files(plan), key=lambda path: path.stat().st_size if path.is_file() else 0)
        raise RamPreflightError(estimate, free, release, largest)
    return RamCheck(estimate, free, release.message if release is not None else "")
