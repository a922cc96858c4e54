"""Before the engine starts: will its RAM peak fit in the RAM that is available?

The engine loads the four FLUX files itself (lazily, through mmap: untouched pages cost nothing),
so its peak RAM follows the files' size. The estimate is

    peak = (ratio x (DiT + CLIP-L + T5-XXL + AE file sizes) + bf16 conversions) x processes

with the ratio measured (``RAM_RATIO``, fp8 base) for whether the text-encoder outputs still have to
be cached (the first run of a request: the T5-XXL is read and run) or are already on disk (a resumed
run: the T5 is mapped but hardly touched), plus, for the bf16-base tiers, the copies the engine
makes then (``bf16_conversion_bytes``, from the files' sizes and dtypes). Several processes each
load their own copy; shared file pages make the real peak lower, so that term is an
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

from ..engine.process_memory import available_ram_bytes, gb
from ..errors import BridgeError
from ..host_memory import MemoryHost, Release
from ..model import TrainingPlan
from ..plan.build import is_fp8_file


@dataclass(frozen=True)
class RamRatio:
    caching: float  # engine (+ ComfyUI) peak / model files, first run: text-encoder outputs cached
    training: float  # the same with the caches already on disk
    source: str


# The engine's part of the peak PSS of ComfyUI plus the engine (the peak less ComfyUI's own, which
# MemAvailable already leaves out) over the model files' size, fp8 base: tiny FLUX set (6.43 GB of
# files, 74% of it the fp8 T5-XXL, the DiT bf16) through TrainIdentityLoRA on CPU,
# benchmarks/ram_peak.py, README "Measured figures": (8.22 - 0.67) / 6.43 and (3.82 - 0.74) / 6.43.
RAM_RATIO = RamRatio(
    caching=1.17,
    training=0.48,
    source="ratio measured on the tiny FLUX set on CPU with fp8 base",
)
# Without fp8 base (48gb, 80gb) the engine converts the T5-XXL to bf16 when it loads it (a new copy,
# and every page of the file read, caches or not) and keeps the DiT as it is (no fp8 copy). Added to
# the fp8 figure, that gives 16.5 and 16.8 GB for the tiny set, where 15.6 and 15.1 GB were measured.
# CPU runs with several processes: each worker moves every model from "cpu" to its own "cpu:0"
# device, which copies the memory-mapped weights into its own memory. Measured with two workers of
# the tiny set, text-encoder outputs cached (tests/engine/test_real_multi_process.py): 17.4 and
# 18.5 GB peak PSS for the engine over 6.43 GB of files, 1.44 per process at the higher.
CPU_WORKER_RATIO = 1.44


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
    enforced: bool = True  # False: the user turned the check off; the estimate is only reported

    def sentence(self) -> str:
        if not self.enforced:
            return f"RAM check turned off: {self.estimate.sentence()}"
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
                "t5xxl_fp8_e4m3fn: half the size); or add RAM or swap. The estimate counts the model files' "
                "pages, which the system can drop under pressure (slowly): if you know it fits, turn the "
                "check off (train --no-ram-check, or the node's ram_check off where the server owner's "
                "settings allow it)"
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
    fp8_base = plan.settings.get("fp8_base", True)
    precision = "fp8" if fp8_base else "bf16"
    caching = not text_encoder_outputs_cached(plan)
    ratio = RAM_RATIO.caching if caching else RAM_RATIO.training
    processes = max(1, plan.request.num_processes)
    source = RAM_RATIO.source
    if plan.request.cpu and processes > 1 and ratio < CPU_WORKER_RATIO:
        ratio, source = CPU_WORKER_RATIO, "measured per CPU worker: each copies the weights to its device"
    extra = 0 if fp8_base else bf16_conversion_bytes(plan.request.models, caching)
    if extra:
        source += "; plus the T5-XXL converted to bf16, less the DiT's fp8 copy"
    peak = (int(ratio * files) + extra) * processes
    return RamEstimate(peak, files, ratio, processes, caching, precision, source)


def bf16_conversion_bytes(models, caching: bool) -> int:
    """What a bf16 base adds to the fp8 figure: the T5-XXL's bf16 copy (and its file's pages, which
    the cached-run ratio leaves out), less the fp8 copy of a bf16 DiT that is not made."""
    t5 = Path(models.t5xxl).stat().st_size if Path(models.t5xxl).is_file() else 0
    dit = Path(models.diffusion_model).stat().st_size if Path(models.diffusion_model).is_file() else 0
    t5_bf16_copy = 2 * t5 if is_fp8_file(models.t5xxl) else t5
    dit_fp8_copy = 0 if is_fp8_file(models.diffusion_model) else dit // 2
    return t5_bf16_copy + (0 if caching else t5) - dit_fp8_copy


def check_ram(
    plan: TrainingPlan,
    host: MemoryHost | None = None,
    available: Callable[[], int | None] = available_ram_bytes,
    enforce: bool = True,
) -> RamCheck:
    """Estimate, compare, ask the host to free RAM when needed; raise RamPreflightError if it still
    does not fit. ``enforce`` False only reports the estimate."""
    estimate = estimate_engine_ram(plan)
    if not enforce:
        return RamCheck(estimate, None, enforced=False)
    free = available()
    if free is None or estimate.peak_bytes <= free:
        return RamCheck(estimate, free)
    release = host.release_ram() if host is not None else None
    free = available() or 0
    if estimate.peak_bytes > free:
        largest = max(model_files(plan), key=lambda path: path.stat().st_size if path.is_file() else 0)
        raise RamPreflightError(estimate, free, release, largest)
    return RamCheck(estimate, free, release.message if release is not None else "")
