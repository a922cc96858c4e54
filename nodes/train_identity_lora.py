"""TrainIdentityLoRA: train a FLUX.1 identity LoRA with the sd-scripts engine (thin adapter).

Planning, the supervised engine process, progress parsing, checks and publishing live in
``sd_scripts_bridge``; the loss curve in ``identity_core.reports``. This module turns the node's
inputs into a ``PlanRequest``, frees ComfyUI's VRAM, relays progress to the UI (progress bar,
live node text, ``identity_lora.progress`` ws events, sample previews), honours Cancel, and
returns the published LoRA.

Re-queueing: ``IS_CHANGED`` only sees widget values (ComfyUI passes no linked inputs to it), so
it hashes the settings and the chosen model files (name + size + mtime: enough to notice a file
replaced under the same name, without reading gigabytes); the dataset is covered by ComfyUI's
cache of the upstream nodes. ``run`` adds the dataset's content
hash (image bytes + captions): the LoRA published for that full key is returned at once.

Environment: ``IDENTITY_LORA_ENGINE`` names the engine folder (else the pack's ``engine/``);
``IDENTITY_LORA_FORCE_CPU=1`` trains on the CPU (tests and the tiny demo model only);
``IDENTITY_LORA_ALLOW_UNPINNED_ENGINE=1`` accepts an engine that is not the pinned sd-scripts
commit (untested; for engine test doubles).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from pathlib import Path

from ..sd_scripts_bridge.profiles import PROFILES
from ..sd_scripts_bridge.te_policy import POLICIES as TE_POLICIES
from ..sd_scripts_bridge.tiers import TIER_ORDER
from . import comfy_glue
from .comfy_glue import CATEGORY_ROOT, DATASET_TYPE

FORCE_CPU_ENV = "IDENTITY_LORA_FORCE_CPU"
ALLOW_UNPINNED_ENV = "IDENTITY_LORA_ALLOW_UNPINNED_ENGINE"
PROGRESS_EVENT = "identity_lora.progress"
LORA_SUBFOLDER = "identity"
RUNS_SUBFOLDER = os.path.join("identity_lora", "train")
REQUEST_KEY_METADATA = "identity_lora_request_key"
TIERS = ["auto", *TIER_ORDER]
SAMPLE_PROMPT = "{token}, a portrait photo of a {class_word}"
PREVIEW_COST = (
    "Each preview costs the engine's sampler 20 denoising steps plus a VAE decode, about the time of "
    "7 training steps (a 1500-step Fast run with a preview every 100 steps takes ~7% longer)."
)
VALIDATION_COST = (
    "Each validation (at every checkpoint interval) runs 4 forward passes per held-out image, about "
    "1.3 training steps per image; held-out images are not trained on."
)
FIX_DATASET_RULE = "If identity realism degrades, fix the dataset first, not the optimizer."


def _profile_values(key: str) -> str:
    return ", ".join(f"{name.capitalize()} {profile.value(key):g}" for name, profile in PROFILES.items())


def _tip(text: str) -> dict:
    return {"tooltip": text}


class TrainIdentityLoRA:
    DISPLAY_NAME = "Train Identity LoRA (FLUX, sd-scripts)"
    CATEGORY = f"{CATEGORY_ROOT}/training"
    RETURN_TYPES = ("STRING", "STRING", "IMAGE", "STRING", "IMAGE")
    RETURN_NAMES = ("lora_name", "lora_path", "loss_curve", "summary", "previews")
    OUTPUT_TOOLTIPS = (
        "The LoRA as LoraLoader lists it (identity/<name>.safetensors).",
        "Full path of the published LoRA file.",
        "Training loss per step (validation loss on top when a validation split was used).",
        "What was trained, how long it took, the VRAM tier and its reason, warnings.",
        "Preview images the engine sampled during training (one black 64 px image when off).",
    )
    FUNCTION = "run"
    OUTPUT_NODE = True
    DESCRIPTION = (
        "Trains a FLUX.1 identity LoRA with kohya-ss/sd-scripts (pinned, own venv) as a supervised "
        "subprocess: Fast or Final profile, VRAM tier, text-encoder policy. Frees ComfyUI's VRAM first, "
        "shows step/loss/ETA, Cancel stops the engine (resumable), identical inputs reuse the LoRA. "
        f"Env: IDENTITY_LORA_ENGINE (engine folder), {FORCE_CPU_ENV}=1 (CPU, tiny test models only)."
    )

    @classmethod
    def INPUT_TYPES(cls):
        text_encoders = comfy_glue.model_file_names("text_encoders")
        return {
            "required": {
                "dataset": (DATASET_TYPE, _tip("The checked dataset from CaptionTokenizer or DatasetCheck.")),
                "profile": (
                    list(PROFILES),
                    {
                        "default": "fast",
                        "tooltip": "fast: 512 px, 1500 steps, rank 32 (dataset validation, < 1 h). "
                        "final: 768 px, 2500 steps, rank 64, dropout 0.1, cosine (best realism).",
                    },
                ),
                "vram_tier": (
                    TIERS,
                    {
                        "default": "auto",
                        "tooltip": "Memory settings for your GPU. auto picks from the GPU's memory. "
                        "12/16/24gb: fp8 base + checkpointing (+ block swap at 12/16); 48/80gb: bf16 "
                        "base, no checkpointing, ~2.2x faster (changes numerics slightly).",
                    },
                ),
                "text_encoder": (
                    list(TE_POLICIES),
                    {
                        "default": "auto",
                        "tooltip": "auto = frozen (design document Section 5). two_phase trains the CLIP-L "
                        "LoRA for the first half of the steps; it needs regularization images, 15+ "
                        "photos and a token that is not unique.",
                    },
                ),
                "diffusion_model": (
                    comfy_glue.model_file_names("diffusion_models"),
                    _tip("FLUX.1-dev single-file model from models/diffusion_models."),
                ),
                "clip_l": (text_encoders, _tip("CLIP-L text encoder from models/text_encoders (or clip).")),
                "t5xxl": (text_encoders, _tip("T5-XXL text encoder from models/text_encoders (or clip).")),
                "ae": (comfy_glue.model_file_names("vae"), _tip("FLUX autoencoder (ae) from models/vae.")),
                "output_name": (
                    "STRING",
                    {
                        "default": "identity_lora",
                        "tooltip": "LoRA file name; published as models/loras/identity/<name>.safetensors.",
                    },
                ),
                "seed": ("INT", {"default": 42, "min": 0, "max": 2**32 - 1, "tooltip": "Training seed."}),
                "checkpoint_every": (
                    "INT",
                    {
                        "default": 250,
                        "min": 0,
                        "max": 100000,
                        "tooltip": "Save a checkpoint and a resumable state every N steps (0: none; "
                        "Cancel then loses the run).",
                    },
                ),
                "resume": (
                    "BOOLEAN",
                    {
                        "default": True,
                        "tooltip": "Continue a cancelled run of the same inputs at its last saved step. "
                        "Off: start again (the old run folder is kept, renamed).",
                    },
                ),
                "overwrite": (
                    "BOOLEAN",
                    {"default": False, "tooltip": "Replace an existing LoRA of the same name."},
                ),
            },
            "optional": {
                "regularization": (
                    DATASET_TYPE,
                    _tip(
                        "Optional regularization dataset (other people, no trigger token); defaults to "
                        "the one DatasetCheck attached."
                    ),
                ),
                "steps": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": 100000,
                        "tooltip": "0 = profile value (" + _profile_values("max_train_steps") + ").",
                    },
                ),
                "learning_rate": (
                    "FLOAT",
                    {
                        "default": 0.0,
                        "min": 0.0,
                        "max": 0.01,
                        "step": 0.00001,
                        "round": False,
                        "tooltip": "0 = profile value (" + _profile_values("learning_rate") + ").",
                    },
                ),
                "rank": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": 512,
                        "tooltip": "LoRA rank; 0 = profile value (" + _profile_values("network_dim") + ").",
                    },
                ),
                "alpha": (
                    "FLOAT",
                    {
                        "default": 0.0,
                        "min": 0.0,
                        "max": 512.0,
                        "step": 1.0,
                        "tooltip": "LoRA alpha; 0 = "
                        "the rank when rank is set, else the profile value ("
                        + _profile_values("network_alpha")
                        + ").",
                    },
                ),
                "resolution": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": 2048,
                        "step": 64,
                        "tooltip": "Training resolution; 0 = "
                        "profile value (" + _profile_values("resolution") + "). Buckets widen to contain it.",
                    },
                ),
                "preview_every_n_steps": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": 100000,
                        "tooltip": "0 = off. Sample a preview with the "
                        "engine's own sampler every N steps, shown on the node and returned. " + PREVIEW_COST,
                    },
                ),
                "preview_prompt": (
                    "STRING",
                    _tip("Preview prompt; empty = '" + SAMPLE_PROMPT + "'."),
                ),
                "validation_split": (
                    "FLOAT",
                    {
                        "default": 0.0,
                        "min": 0.0,
                        "max": 0.5,
                        "step": 0.05,
                        "tooltip": "0 = off. Share of the "
                        "images held out to measure validation loss, drawn on the loss curve (needs "
                        "checkpoint_every > 0). " + VALIDATION_COST,
                    },
                ),
                "advanced_settings": (
                    "STRING",
                    {
                        "default": "",
                        "multiline": True,
                        "tooltip": "Optional JSON of further profile values, "
                        'e.g. {"lr_warmup_steps": 50, "t5xxl_max_token_length": 256}; applied last.',
                    },
                ),
            },
            "hidden": {"unique_id": "UNIQUE_ID"},
        }

    @classmethod
    def IS_CHANGED(cls, **inputs):
        """Settings + model files (the dataset is covered by the upstream nodes' cache entries).

        The published file's state is left out on purpose: it changes when this node publishes,
        so including it would make every second identical queue run the node again.
        """
        try:
            models = _model_identities(inputs)
        except (OSError, ValueError):
            return float("nan")
        return _hash_json({"settings": _settings_record(inputs), "models": models})

    def run(self, dataset, output_name, unique_id=None, **inputs):
        from ..sd_scripts_bridge.errors import TrainingCancelledError

        comfy_glue.raise_if_interrupted()
        inputs["output_name"] = output_name
        _refuse_failed_dataset(dataset)
        job = _Job(dataset, inputs, unique_id)
        reused = job.reused_result()
        if reused is not None:
            return reused
        job.free_vram()
        job.plan_run()
        try:
            job.train()
        except TrainingCancelledError:
            comfy_glue.raise_if_interrupted()  # ComfyUI shows the node as interrupted
            raise
        return job.result()


class _Job:
    """One execution of the node: the request, the plan, the run and its outputs."""

    def __init__(self, dataset, inputs: dict, node_id: str | None) -> None:
        self.dataset = dataset
        self.inputs = inputs
        self.node_id = node_id
        self.started = time.monotonic()
        self.engine = None
        self.cpu = os.environ.get(FORCE_CPU_ENV, "") == "1"
        self.regularization = inputs.get("regularization") or dataset.regularization
        self.key = _hash_json(
            {
                "settings": _settings_record(inputs),
                "models": _model_identities(inputs),
                "dataset": dataset.content_hash(),
                "regularization": self.regularization.content_hash() if self.regularization else None,
                "cpu": self.cpu,
            }
        )
        name = inputs["output_name"].strip()
        self.lora_name = f"{LORA_SUBFOLDER}/{name}.safetensors"
        self.destination = Path(comfy_glue.lora_root()) / LORA_SUBFOLDER / f"{name}.safetensors"
        self.run_dir = Path(comfy_glue.output_directory()) / RUNS_SUBFOLDER / f"{_safe(name)}-{self.key[:12]}"
        self.freed = ""
        self.plan = None
        self.result_value = None
        self.resumed_at: int | None = None
        self.progress: _Progress | None = None

    # ------------------------------------------------------------------ reuse
    def reused_result(self) -> dict | None:
        """The outputs of the LoRA already published for this exact key, if it is there."""
        from ..sd_scripts_bridge.lora_file import read_metadata

        if not self.destination.is_file():
            return None
        try:
            metadata = read_metadata(self.destination)
        except Exception:  # an unreadable file is not ours to reuse; the bridge reports it later
            return None
        if metadata.get(REQUEST_KEY_METADATA) != self.key:
            return None
        report = _read_json(self.run_dir / "training_report.json")
        summary = (
            f"Reused {self.lora_name}: it was trained from these exact inputs (key {self.key[:12]}); "
            "nothing was trained again. Change an input or delete the file to train anew.\n"
            + report.get("summary", "")
        )
        return self._outputs(summary, previews=[Path(p) for p in report.get("samples", [])])

    # ------------------------------------------------------------------ before the run
    def free_vram(self) -> None:
        self.freed = comfy_glue.free_comfy_vram()

    def plan_run(self) -> None:
        from ..sd_scripts_bridge.engine import locate_engine
        from ..sd_scripts_bridge.plan import build_plan

        self.engine = locate_engine()
        request = self._request()
        plan = build_plan(request, self.engine)
        metadata = {**plan.metadata, REQUEST_KEY_METADATA: self.key}
        self.plan = dataclasses.replace(plan, metadata=metadata)
        self._prepare_run_dir()

    def _request(self):
        from ..sd_scripts_bridge.engine import tokenizer_cache_dir
        from ..sd_scripts_bridge.model import DatasetImage, ModelFiles, PlanRequest

        inputs = self.inputs
        if not self.cpu and comfy_glue.cuda_total_vram_gib() is None:
            raise RuntimeError(
                "TrainIdentityLoRA: ComfyUI sees no CUDA GPU, and FLUX LoRA training needs an NVIDIA GPU "
                f"(12 GB or more). What to do: run ComfyUI on a machine with one. Tests with tiny models "
                f"only: set {FORCE_CPU_ENV}=1."
            )
        token = self.dataset.trigger_token
        if not token:
            raise ValueError(
                "TrainIdentityLoRA: the dataset has no trigger token. What to do: put a CaptionTokenizer "
                "node between DatasetCheck and this node."
            )
        preview_every = int(inputs.get("preview_every_n_steps") or 0)
        prompt = (inputs.get("preview_prompt") or "").strip() or SAMPLE_PROMPT
        uniqueness = self.dataset.token_uniqueness
        return PlanRequest(
            profile=inputs["profile"],
            images=tuple(DatasetImage(Path(i.image_path), i.caption) for i in self.dataset.items),
            regularization=tuple(
                DatasetImage(Path(i.image_path), i.caption)
                for i in (self.regularization.items if self.regularization else ())
            ),
            models=ModelFiles(**{role: Path(path) for role, path in _model_paths(inputs).items()}),
            output_name=inputs["output_name"].strip(),
            run_dir=self.run_dir,
            trigger_token=token,
            class_word=self.dataset.class_word or "person",
            vram_tier=inputs["vram_tier"],
            detected_vram_gb=None if self.cpu else comfy_glue.cuda_total_vram_gib(),
            te_policy=inputs["text_encoder"],
            token_is_unique=uniqueness.is_unique if uniqueness is not None else None,
            overrides=_overrides(inputs),
            seed=int(inputs["seed"]),
            save_every_n_steps=int(inputs["checkpoint_every"]) or None,
            sample_prompts=(prompt.format(token=token, class_word=self.dataset.class_word),)
            if preview_every
            else (),
            sample_every_n_steps=preview_every or None,
            validation_split=float(inputs.get("validation_split") or 0.0),
            tokenizer_cache_dir=tokenizer_cache_dir(self.engine) or _comfy_tokenizers(),
            cpu=self.cpu,
            allow_unpinned_engine=os.environ.get(ALLOW_UNPINNED_ENV, "") == "1",
            publish_dir=self.destination.parent,
        )

    def _prepare_run_dir(self) -> None:
        """Without resume, a run folder holding saved states is set aside (renamed, never deleted)."""
        from ..sd_scripts_bridge.runner import find_start

        if not self.run_dir.exists():
            return
        start = find_start(self.plan, None)
        has_state = start.state is not None or start.phase_index > 0
        if self.inputs.get("resume") and has_state:
            steps_before = sum(p.max_train_steps for p in self.plan.phases[: start.phase_index])
            self.resumed_at = steps_before + (start.state.step if start.state else 0)
        elif has_state:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            self.run_dir.rename(self.run_dir.with_name(f"{self.run_dir.name}.set-aside-{stamp}"))

    # ------------------------------------------------------------------ the run
    def train(self) -> None:
        from ..sd_scripts_bridge.runner import run_training

        plan = self.plan
        self.log_offset = _file_size(plan.run_dir / "engine.log")
        self.progress = _Progress(self.node_id, plan, self.resumed_at)
        self.progress.say(f"{self.freed}. Tier {plan.tier.name}: {plan.tier.reason.split(';')[0]}.")
        try:
            self.result_value = run_training(
                plan,
                self.engine,
                on_event=self.progress,
                should_cancel=comfy_glue.is_interrupted,
                overwrite=bool(self.inputs.get("overwrite")),
            )
        finally:
            self._record_validation()

    def _record_validation(self) -> None:
        from ..sd_scripts_bridge.validation_log import (
            FILE_NAME,
            pair_with_steps,
            validation_losses,
            write_validation_csv,
        )

        if not self.progress or not self.progress.validation_steps:
            return
        log = self.plan.run_dir / "engine.log"
        with log.open("rb") as handle:
            handle.seek(self.log_offset)
            text = handle.read().decode("utf-8", errors="replace")
        points = pair_with_steps(self.progress.validation_steps, validation_losses(text))
        write_validation_csv(self.plan.run_dir / FILE_NAME, points, self.resumed_at)

    # ------------------------------------------------------------------ outputs
    def result(self) -> dict:
        result = self.result_value
        summary = self._summary()
        report = {
            "summary": summary,
            "request_key": self.key,
            "lora_name": self.lora_name,
            "lora_path": str(result.lora_path),
            "steps": result.steps,
            "final_loss": result.final_loss,
            "wall_seconds": round(time.monotonic() - self.started, 1),
            "resumed_at_step": self.resumed_at,
            "freed_vram": self.freed,
            "log_path": str(result.log_path),
            "loss_csv": str(result.loss_csv),
            "samples": [str(p) for p in result.samples],
            "metadata": result.metadata,
            "plan": self.plan.to_dict(),
        }
        report_path = self.run_dir / "training_report.json"
        report_path.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
        summary += f"\nReport: {report_path}"
        return self._outputs(summary, previews=list(result.samples))

    def _summary(self) -> str:
        plan, result = self.plan, self.result_value
        seconds = time.monotonic() - self.started
        loss = f"{result.final_loss:.4f}" if result.final_loss is not None else "n/a"
        lines = [
            f"Trained {self.lora_name} ({plan.request.profile} profile, {result.steps} steps, "
            f"final loss {loss}) in {seconds / 60:.1f} min.",
            f"Text encoder: {plan.settings.get('text_encoder')}. Tier {plan.tier.name}: {plan.tier.reason}",
            f"Before training: {self.freed}.",
        ]
        if self.progress is not None and self.progress.sec_per_step() is not None:
            lines.append(f"Speed: {self.progress.sec_per_step():.2f} s/step (engine's average over the run).")
        if self.resumed_at is not None:
            lines.append(f"Resumed at step {self.resumed_at}.")
        if plan.request.allow_unpinned_engine:
            lines.append(f"Engine not checked against the pinned commit ({ALLOW_UNPINNED_ENV}=1).")
        if plan.request.validation_split and not plan.request.save_every_n_steps:
            lines.append("Validation split set but checkpoint_every is 0: no validation loss was measured.")
        lines += [f"Warning: {warning}" for warning in plan.warnings]
        lines.append(f"Run folder: {plan.run_dir}")
        return "\n".join(lines)

    def _outputs(self, summary: str, previews: list[Path]) -> dict:
        from ..identity_core.reports.loss_chart import loss_chart, read_loss_points, read_validation_points

        chart = loss_chart(
            read_loss_points(self.run_dir / "loss.csv"),
            read_validation_points(self.run_dir / "validation.csv"),
            title=self.lora_name,
        )
        return {
            "ui": {"text": [summary], "images": [comfy_glue.save_preview_png(chart, "identity_loss")]},
            "result": (
                self.lora_name,
                str(self.destination),
                comfy_glue.arrays_to_images([chart]),
                summary,
                _preview_batch(previews),
            ),
        }


class _Progress:
    """Relays the bridge's progress events: progress bar, node text, ws event, sample previews."""

    def __init__(self, node_id: str | None, plan, resumed_at: int | None) -> None:
        self.node_id = node_id
        self.total = plan.total_steps
        self.bar = comfy_glue.progress_bar(self.total)
        self.sample_dirs = list(dict.fromkeys(phase.output_dir / "sample" for phase in plan.phases))
        self.seen_samples = {p for folder in self.sample_dirs for p in folder.glob("*.png")}
        self.last_step = resumed_at or 0
        self.rates: list[float] = []
        self.validation_steps: list[int] = []
        if resumed_at:
            self.bar.update_absolute(resumed_at, self.total)

    def __call__(self, event) -> None:
        if event.kind == "validation":
            if not self.validation_steps or self.validation_steps[-1] != event.step:
                self.validation_steps.append(event.step)
            return
        if event.kind == "step" and event.sec_per_step is not None:
            self.rates.append(event.sec_per_step)
        if event.kind == "step" and event.step == self.last_step and event.loss is None:
            return
        self.last_step = max(self.last_step, event.step)
        self.bar.update_absolute(event.step, self.total, self._new_preview())
        data = {
            "node": self.node_id,
            "phase": event.phase,
            "kind": event.kind,
            "step": event.step,
            "total_steps": event.total,
            "loss": event.loss,
            "sec_per_step": event.sec_per_step,
            "eta_s": event.eta_seconds,
            "message": event.message,
        }
        comfy_glue.send_event(PROGRESS_EVENT, data)
        comfy_glue.send_node_text(self.node_id, _progress_line(event))

    def say(self, text: str) -> None:
        comfy_glue.send_event(PROGRESS_EVENT, {"node": self.node_id, "kind": "log", "message": text})
        comfy_glue.send_node_text(self.node_id, text)

    def sec_per_step(self) -> float | None:
        """The engine bar's last rate: its average since the bar started (tqdm smoothing=0)."""
        return self.rates[-1] if self.rates else None

    def _new_preview(self):
        """A sample image the engine wrote since the last event, as a progress preview."""
        new = sorted(
            (p for folder in self.sample_dirs if folder.is_dir() for p in folder.glob("*.png")),
            key=lambda p: p.stat().st_mtime_ns,
        )
        new = [p for p in new if p not in self.seen_samples]
        if not new:
            return None
        self.seen_samples.update(new)
        from PIL import Image

        with Image.open(new[-1]) as image:
            return ("PNG", image.convert("RGB"), 512)


def _progress_line(event) -> str:
    parts = [f"{event.phase}: step {event.step}/{event.total}"]
    if event.loss is not None:
        parts.append(f"loss {event.loss:.4f}")
    if event.sec_per_step is not None:
        parts.append(f"{event.sec_per_step:.2f} s/step")
    if event.eta_seconds is not None:
        parts.append(f"ETA {int(event.eta_seconds) // 60}m{int(event.eta_seconds) % 60:02d}s")
    if event.message:
        parts.append(event.message)
    return ", ".join(parts)


# ---------------------------------------------------------------------- inputs -> request


_MODEL_FOLDERS = {
    "diffusion_model": "diffusion_models",
    "clip_l": "text_encoders",
    "t5xxl": "text_encoders",
    "ae": "vae",
}
_NOT_SETTINGS = {"dataset", "regularization", "resume", "overwrite", "unique_id"}


def _model_paths(inputs: dict) -> dict[str, str]:
    paths = {}
    for role, folder in _MODEL_FOLDERS.items():
        name = inputs.get(role)
        try:
            paths[role] = comfy_glue.model_file_path(folder, name)
        except FileNotFoundError:
            raise ValueError(
                f"TrainIdentityLoRA: the {role} file {name!r} is not in ComfyUI's models/{folder} folder. "
                "What to do: put the file there and pick it again (refresh the node with R)."
            ) from None
    return paths


def _model_identities(inputs: dict) -> dict[str, list]:
    """Name + size + mtime of each model file: notices a replaced file without reading it."""
    identities = {}
    for role, path in _model_paths(inputs).items():
        stat = os.stat(path)
        identities[role] = [os.path.basename(path), stat.st_size, stat.st_mtime_ns]
    return identities


def _settings_record(inputs: dict) -> dict:
    return {
        key: value
        for key, value in sorted(inputs.items())
        if key not in _NOT_SETTINGS and key not in _MODEL_FOLDERS
    }


def _overrides(inputs: dict) -> dict:
    """Non-zero override inputs as profile settings; the advanced JSON is applied last."""
    profile = PROFILES.get(inputs["profile"])
    overrides: dict = {}
    if inputs.get("steps"):
        overrides["max_train_steps"] = int(inputs["steps"])
    if inputs.get("learning_rate"):
        overrides["learning_rate"] = float(inputs["learning_rate"])
    if inputs.get("rank"):
        overrides["network_dim"] = int(inputs["rank"])
        overrides["network_alpha"] = float(inputs.get("alpha") or inputs["rank"])
    elif inputs.get("alpha"):
        overrides["network_alpha"] = float(inputs["alpha"])
    if inputs.get("resolution") and profile is not None:
        resolution = int(inputs["resolution"])
        overrides["resolution"] = resolution
        overrides["min_bucket_reso"] = min(profile.value("min_bucket_reso"), resolution)
        overrides["max_bucket_reso"] = max(profile.value("max_bucket_reso"), resolution)
    overrides.update(_advanced(inputs.get("advanced_settings") or ""))
    return overrides


def _advanced(text: str) -> dict:
    if not text.strip():
        return {}
    try:
        values = json.loads(text)
    except ValueError as error:
        raise ValueError(
            f"TrainIdentityLoRA: advanced_settings is not valid JSON ({error}). What to do: write an "
            'object such as {"lr_warmup_steps": 50}, or leave it empty.'
        ) from None
    if not isinstance(values, dict):
        raise ValueError(
            'TrainIdentityLoRA: advanced_settings must be a JSON object such as {"lr_warmup_steps": 50}.'
        )
    return values


def _refuse_failed_dataset(dataset) -> None:
    if getattr(dataset, "verdict", None) != "fail":
        return
    failed = [f for f in dataset.findings if f.severity == "fail"][:3]
    details = "; ".join(f"{f.message} (fix: {f.fix})" if f.fix else f.message for f in failed)
    raise ValueError(
        f"TrainIdentityLoRA: DatasetCheck's verdict is 'fail', so training was refused. {details}. "
        f"{FIX_DATASET_RULE}"
    )


def _comfy_tokenizers() -> Path:
    """Offline tokenizer folders made from ComfyUI's own tokenizer files (the engine is offline)."""
    from ..sd_scripts_bridge.comfy_tokenizers import ensure_tokenizers

    dest = Path(comfy_glue.output_directory()) / "identity_lora" / "tokenizers"
    return ensure_tokenizers(dest, Path(comfy_glue.comfyui_dir()))


# ---------------------------------------------------------------------- small helpers


def _preview_batch(paths: list[Path]):
    import numpy as np
    from PIL import Image

    arrays = []
    for path in paths:
        try:
            with Image.open(path) as image:
                arrays.append(np.asarray(image.convert("RGB")))
        except OSError:
            continue
    if arrays:
        size = arrays[-1].shape
        arrays = [a for a in arrays if a.shape == size]
    return comfy_glue.arrays_to_images(arrays or [np.zeros((64, 64, 3), np.uint8)])


def _hash_json(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:60] or "lora"


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
