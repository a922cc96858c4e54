"""Data passed between the planner, the runner and the node.

The planner (``plan/build.py``) turns a :class:`PlanRequest` into a :class:`TrainingPlan`; the
runner (``run/runner.py``) executes its phases and reports :class:`ProgressEvent` values, then
returns a :class:`TrainingResult`. Everything here is plain data (JSON-able through
``to_dict``) so the CLI can print it and the node can hash it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Engine:
    """An installed engine folder: ``<root>/sd-scripts`` (source) and ``<root>/venv`` (its Python).

    ``engine/folder.py`` locates and checks it (``--engine``, ``IDENTITY_LORA_ENGINE``, or the pack's
    git-ignored ``engine/`` folder). Phase argv start with
    ``[python, "-m", "accelerate.commands.launch", <accelerate options>,
    <source_dir>/flux_train_network.py]``.
    """

    root: Path
    source_dir: Path
    python: Path
    commit: str | None = None

    @property
    def train_script(self) -> Path:
        return self.source_dir / "flux_train_network.py"


@dataclass(frozen=True)
class DatasetImage:
    """One training image and the caption text to train it with (None: use class tokens)."""

    image_path: Path
    caption: str | None = None


@dataclass(frozen=True)
class ModelFiles:
    """The four FLUX files the engine loads (BFL single-file DiT, CLIP-L, T5-XXL, AE)."""

    diffusion_model: Path
    clip_l: Path
    t5xxl: Path
    ae: Path


@dataclass(frozen=True)
class DeviceReport:
    """The GPU the engine will train on, measured right before the plan is built.

    ``free_vram_gib`` is what the ``auto`` tier is chosen from: the memory that is free once the
    host (ComfyUI) has unloaded its own models, so another program on the GPU, or the host's CUDA
    context, is already counted. ``measured_by`` says where the figures come from.
    """

    free_vram_gib: float | None = None
    total_vram_gib: float | None = None
    gpu_name: str | None = None
    gpu_count: int = 0
    measured_by: str = ""


@dataclass(frozen=True)
class EngineSamplePrompt:
    """A sample prompt with its own seed and sampling steps (None: the request's seed, the default
    steps). A plain ``str`` in ``PlanRequest.sample_prompts`` means ``EngineSamplePrompt(text)``."""

    text: str
    seed: int | None = None
    steps: int | None = None


@dataclass(frozen=True)
class PlanRequest:
    """What the user asked for; ``overrides`` replaces profile values by name (e.g. max_train_steps)."""

    profile: str  # "fast" | "final"
    images: tuple[DatasetImage, ...]
    models: ModelFiles
    output_name: str
    run_dir: Path
    trigger_token: str
    class_word: str = "person"
    regularization: tuple[DatasetImage, ...] = ()
    vram_tier: str = "auto"  # "auto" or a name in tiers.TIER_ORDER
    device: DeviceReport | None = None  # free VRAM for "auto" (None: unknown)
    te_policy: str = "auto"  # "auto" | "frozen" | "two_phase"
    token_is_unique: bool | None = None  # from CaptionTokenizer; None = unknown
    overrides: dict[str, Any] = field(default_factory=dict)
    seed: int = 42
    save_every_n_steps: int | None = None
    sample_prompts: tuple[str | EngineSamplePrompt, ...] = ()
    sample_every_n_steps: int | None = None
    validation_split: float = 0.0
    tokenizer_cache_dir: Path | None = None
    num_processes: int = 1
    extra_accelerate_args: tuple[str, ...] = ()
    cpu: bool = False  # train on CPU (tests and the tiny demo only)
    allow_unpinned_engine: bool = False  # plan for an engine at another commit (untested)
    publish_dir: Path | None = None  # where the finished LoRA is published (None: the run folder)


@dataclass(frozen=True)
class PhaseNetwork:
    """The LoRA a phase trains, as the planner set it in the phase's command. The runner and the
    LoRA file checks read these fields; nothing is parsed back out of ``argv``."""

    rank: int | None = None  # --network_dim of every module (None: not known, not checked)
    # CLIP-L's LoRA: None = none (--network_train_unet_only); 0 = carried unchanged from the
    # phase's network_weights (two-phase, phase 2); above 0 = trained (two-phase, phase 1)
    text_encoder_lr: float | None = None

    @property
    def has_text_encoder(self) -> bool:
        return self.text_encoder_lr is not None

    @property
    def keeps_text_encoder(self) -> bool:
        """The CLIP-L LoRA it starts from must come out unchanged."""
        return self.text_encoder_lr == 0


@dataclass(frozen=True)
class Phase:
    """One engine run. Two-phase TE training has two; everything else has one."""

    name: str  # "train" | "te_phase1" | "te_phase2"
    argv: tuple[str, ...]  # full command, never a shell string
    max_train_steps: int
    output_dir: Path
    output_name: str
    network_weights: Path | None = None  # phase 2 starts from phase 1's file
    engine_log: Path | None = None  # the engine's --console_log_file for this phase
    environment: tuple[tuple[str, str], ...] = ()  # set in the engine's environment (command.py)
    network: PhaseNetwork = PhaseNetwork()  # what the LoRA file it writes holds
    validate_every_n_steps: int | None = None  # --validate_every_n_steps (None: no validation)

    @property
    def output_file(self) -> Path:
        return self.output_dir / f"{self.output_name}.safetensors"


@dataclass(frozen=True)
class StagedImage:
    """One image copied into the run folder, with its caption file's text."""

    source: Path
    staged_name: str  # file name inside the subset folder; the caption is <stem>.txt next to it
    caption: str | None  # None: no .txt file, the engine uses the subset's class_tokens
    rotated: bool = False  # its EXIF orientation is not upright: staged turned upright, as PNG


@dataclass(frozen=True)
class DatasetStaging:
    """The dataset copy the engine trains on (``staging.stage_dataset`` writes it).

    The engine writes its latent and text-encoder caches next to the images, so it never sees
    the user's folder; ``key`` covers images, captions and the cache-relevant settings, and a
    folder staged with another key is rebuilt (no stale ``_flux_te.npz`` after caption edits).
    """

    root: Path
    subject_dir: Path
    reg_dir: Path | None
    subject: tuple[StagedImage, ...]
    reg: tuple[StagedImage, ...]
    dataset_hash: str  # sha256 over image bytes and captions (subject and reg)
    key: str  # dataset_hash plus the model files and settings the caches depend on


@dataclass(frozen=True)
class TierChoice:
    name: str
    reason: str
    expected_sec_per_step: float | None
    changes_numerics: tuple[str, ...] = ()
    speed_basis: str = ""  # the GPU the expected s/step was measured on, or "estimate: ..."
    peak_vram_gb: float | None = None  # the tier's peak at 512 px (measured or estimated)
    peak_basis: str = ""  # "measured on ..." or "estimate: ..."


@dataclass(frozen=True)
class TrainingPlan:
    request: PlanRequest
    phases: tuple[Phase, ...]
    dataset_toml: str
    dataset_toml_path: Path
    run_dir: Path
    tier: TierChoice
    warnings: tuple[str, ...]
    settings: dict[str, Any]  # the resolved profile values, for reports and metadata
    metadata: dict[str, str]  # our own LoRA metadata keys (profile, token, dataset hash, engine commit...)
    staging: DatasetStaging | None = None  # what staging.prepare_run_dir() writes before the run
    sample_prompts_path: Path | None = None
    sample_prompts_text: str | None = None

    @property
    def total_steps(self) -> int:
        return sum(phase.max_train_steps for phase in self.phases)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(dataclasses.asdict(self))


EARLIER_SAMPLE_PREFIX = "earlier sample"  # message of a sample event resent on resume, not a new step


@dataclass(frozen=True)
class ProgressEvent:
    """A structured progress report. ``step`` and ``total`` count over all phases."""

    kind: str  # "step" | "checkpoint" | "phase" | "log" | "validation" | "sample"
    phase: str
    step: int = 0
    total: int = 0
    loss: float | None = None
    sec_per_step: float | None = None
    eta_seconds: float | None = None
    path: Path | None = None  # saved checkpoint or sample image
    message: str = ""
    sample_index: int | None = None  # a sample image's prompt position in the prompt file (None: unknown)


@dataclass(frozen=True)
class Checkpoint:
    """A LoRA file the engine saved during a run, with the global step (over all phases) it holds."""

    step: int
    path: Path


@dataclass(frozen=True)
class StopRequest:
    """A caller's early stop, in global steps: ``at_step`` is the checkpoint at which its rule fired
    (the engine runs until a saved state at or after it is complete), ``keep_step`` the checkpoint
    to publish instead of the final file."""

    at_step: int
    keep_step: int
    reason: str


@dataclass(frozen=True)
class DiskUse:
    """Bytes a run folder holds: all of it, and the step checkpoints, resume states and samples."""

    total_bytes: int
    checkpoint_bytes: int
    state_bytes: int
    sample_bytes: int


@dataclass(frozen=True)
class TrainingResult:
    lora_path: Path  # the published file
    run_dir: Path
    log_path: Path
    loss_csv: Path
    steps: int
    final_loss: float | None
    checkpoints: tuple[Checkpoint, ...] = ()  # every step checkpoint of the plan on disk, oldest first
    samples: tuple[Path, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    resumed_at: int | None = None  # the global step this call resumed from (None: from the start)
    validation_csv: Path | None = None  # validation.csv when the run measured validation loss
    engine_peak_ram_bytes: int | None = None  # the engine processes' peak PSS (None: not measured)
    stopped_early: StopRequest | None = None  # the caller stopped the run: a checkpoint was published
    disk: DiskUse | None = None  # the run folder after the run (states pruned)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
