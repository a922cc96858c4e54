"""StrengthSweep: sample a fixed prompt set over LoRA strengths and seeds, for ArcFaceScore.

Everything runs through ComfyUI's own functions (``sweep_sampling``, ``comfy_glue.sampling``): the LoRA
file is read once per file and re-applied per strength with the core LoRA loader function; each
prompt is encoded once (per strength only when the LoRA also patches the text encoder); each
image takes the core KSampler path with FLUX guidance set on the conditioning, then VAE decode.
The MODEL the user connects is the one sampled, in its own weight dtype (an fp8 base can round
small LoRA deltas away), and the sweep records that dtype and each LoRA file's training metadata.

With ``probe_beyond`` and a reference connected, the identity prompts' images at the two top
strengths are scored with the face backend (``identity_core.evaluation.probe``); when likeness
still rises there and misses the target, 1.5 and 2.0 are sampled too, in the same queue.

With ``checkpoints`` (a training run's IDENTITY_CHECKPOINTS) the sweep first measures one
likeness per checkpoint (the coarse pass, ``checkpoint_pass``), then runs the protocol above on
the best checkpoint and a tie, labelled ``step N``; lora_name, lora_file and extra_loras are then
ignored. The checkpoint files come from the checkpoint value only, never from a typed path.

On a shared server: every input is checked first (text caps, finite numbers, the kinds of the
linked values: ``identity_core.input_limits``, ``input_checks``), and the images are held as 8-bit
RGB within the sweep's count and pixel caps; the float IMAGE output is made once, at the end.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .comfy_glue.hidden_paths import hiding_private_paths
from .comfy_glue.images import arrays_to_images, save_preview_png
from .comfy_glue.lora_folders import lora_display_name, lora_full_path, lora_names
from .comfy_glue.progress import is_interrupted, progress_bar
from .comfy_glue.sampling import model_weight_dtype, sampler_names, scheduler_names
from .face_reference import BACKENDS, load_face_backend, reference_photos
from .pack_names import CATEGORY_ROOT, CHECKPOINTS_TYPE, DATASET_TYPE, SWEEP_TYPE
from .sweep_sampling import FLUX_CFG, SweepPlan, sample_lora

USE_LORA_FILE = "(use lora_file)"


class StrengthSweep:
    DISPLAY_NAME = "LoRA Strength Sweep (identity)"
    CATEGORY = f"{CATEGORY_ROOT}/evaluation"
    DESCRIPTION = (
        "Samples the fixed evaluation prompts (portrait, environment, outfit, style, and a control "
        "prompt without the token) at each LoRA strength and seed, for ArcFaceScore, with the MODEL you "
        "connect (use the base precision you generate with). With a reference connected it probes 1.5 and "
        "2.0 when likeness still rises at the top strength. With a training run's checkpoints connected, "
        "it first measures each checkpoint at strength 1.0 and sweeps the best one (and a tie)."
    )
    RETURN_TYPES = ("IMAGE", "IMAGE", SWEEP_TYPE)
    RETURN_NAMES = ("images", "grid", "sweep")
    OUTPUT_TOOLTIPS = (
        "Every sampled image (prompt x strength x seed).",
        "The images in one grid: a row per prompt and seed, a column per strength.",
        "The images with their prompt, role, strength and seed, for ArcFaceScore.",
    )
    FUNCTION = "run"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls):
        from ..identity_core.evaluation.prompts import DEFAULT_PROMPTS_TEXT, DEFAULT_STRENGTHS_TEXT

        samplers, schedulers = sampler_names(), scheduler_names()
        return {
            "required": {
                "model": (
                    "MODEL",
                    {
                        "tooltip": "The FLUX model, without the LoRA, loaded as you generate with it: the "
                        "sweep samples this model in its own weight dtype (an fp8 base can round small LoRA "
                        "deltas away), and the report names the dtype."
                    },
                ),
                "clip": ("CLIP", {"tooltip": "FLUX text encoders (DualCLIPLoader, type flux)."}),
                "vae": ("VAE", {"tooltip": "The FLUX autoencoder (ae)."}),
                "lora_name": (
                    [USE_LORA_FILE, *lora_names()],
                    {
                        "default": USE_LORA_FILE,
                        "tooltip": "The identity LoRA from models/loras, or '(use lora_file)' to sweep "
                        "the LoRA connected to lora_file (e.g. TrainIdentityLoRA's lora_path).",
                    },
                ),
                "trigger_token": (
                    "STRING",
                    {"default": "ohwx", "tooltip": "The LoRA's trigger token: {token} in the prompts."},
                ),
                "class_word": (
                    "STRING",
                    {"default": "person", "tooltip": "man, woman, person...: {class_word} in the prompts."},
                ),
                "prompts": (
                    "STRING",
                    {
                        "multiline": True,
                        "default": DEFAULT_PROMPTS_TEXT,
                        "tooltip": "One 'id: prompt' or 'id[role]: prompt' per line with {token} and "
                        "{class_word}. Roles: identity (decides the strength), style (identity must survive "
                        "stylisation; ids like style/painting/anime infer it), control (no {token}: the "
                        "person must NOT appear).",
                    },
                ),
                "strengths": (
                    "STRING",
                    {"default": DEFAULT_STRENGTHS_TEXT, "tooltip": "LoRA strengths to sample (comma list)."},
                ),
                "seeds": (
                    "INT",
                    {"default": 3, "min": 1, "max": 16, "tooltip": "Seeds per prompt and strength."},
                ),
                "base_seed": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": 0xFFFFFFFFFFFFFFFF,
                        "tooltip": "The first seed; the others follow it. Same seeds at every strength.",
                    },
                ),
                "steps": ("INT", {"default": 20, "min": 1, "max": 200, "tooltip": "Sampling steps."}),
                "guidance": (
                    "FLOAT",
                    {"default": 3.5, "min": 0.0, "max": 100.0, "step": 0.1, "tooltip": "FLUX guidance."},
                ),
                "sampler_name": (samplers, {"default": "euler", "tooltip": "KSampler's sampler."}),
                "scheduler": (schedulers, {"default": "simple", "tooltip": "KSampler's scheduler."}),
                "width": (
                    "INT",
                    {"default": 1024, "min": 64, "max": 4096, "step": 16, "tooltip": "Image width."},
                ),
                "height": (
                    "INT",
                    {"default": 1024, "min": 64, "max": 4096, "step": 16, "tooltip": "Image height."},
                ),
            },
            "optional": {
                "extra_loras": (
                    "STRING",
                    {
                        "multiline": True,
                        "default": "",
                        "tooltip": "More LoRA files to compare, one name from models/loras per line "
                        "(the checkpoints of a training run come through the checkpoints input).",
                    },
                ),
                "lora_file": (
                    "STRING",
                    {
                        "forceInput": True,
                        "tooltip": "A LoRA path from TrainIdentityLoRA; replaces lora_name when connected.",
                    },
                ),
                "probe_beyond": (
                    "BOOLEAN",
                    {
                        "default": True,
                        "tooltip": "When likeness still rises at the top strength and misses the target, "
                        "also sample 1.5 and 2.0 (beyond the design document's sweep) before anyone "
                        "concludes 'undertrained'. Needs reference_dataset or reference_images; scores only "
                        "the identity prompts at the two top strengths.",
                    },
                ),
                "reference_dataset": (
                    DATASET_TYPE,
                    {"tooltip": "The checked training set: the identity the probe decision scores against."},
                ),
                "reference_images": ("IMAGE", {"tooltip": "Reference photos, instead of the dataset."}),
                "face_backend": (
                    BACKENDS,
                    {
                        "default": "auto",
                        "tooltip": "For the probe decision and the checkpoints' coarse pass; as in "
                        "ArcFaceScore.",
                    },
                ),
                "checkpoints": (
                    CHECKPOINTS_TYPE,
                    {
                        "tooltip": "A training run's checkpoints (TrainIdentityLoRA or the checkpoint "
                        "loader). Each checkpoint's likeness at strength 1.0 comes from training's own "
                        "samples, or is sampled here (identity prompts x 2 seeds; needs a reference); the "
                        "full sweep then runs on the best checkpoint (see sweep_tied_checkpoint). "
                        "lora_name, lora_file and extra_loras are then ignored.",
                    },
                ),
                "sweep_tied_checkpoint": (
                    "BOOLEAN",
                    {
                        "default": False,
                        "tooltip": "Also run the full sweep on a checkpoint whose likeness ties with the "
                        "best one (within the margin). Off: the earlier of the two is swept alone (it has "
                        "copied less); on doubles the sweep's time.",
                    },
                ),
            },
        }

    @hiding_private_paths
    def run(
        self,
        model,
        clip,
        vae,
        lora_name,
        trigger_token,
        class_word,
        prompts,
        strengths,
        seeds,
        base_seed,
        steps,
        guidance,
        sampler_name,
        scheduler,
        width,
        height,
        extra_loras="",
        lora_file=None,
        probe_beyond=True,
        reference_dataset=None,
        reference_images=None,
        face_backend="auto",
        checkpoints=None,
        sweep_tied_checkpoint=False,
    ):
        from ..identity_core.evaluation import EvaluationError
        from ..identity_core.evaluation.model import Sweep
        from ..identity_core.evaluation.prompts import parse_prompts, parse_strengths
        from ..identity_core.reports.grid import sweep_grid

        _check_inputs(
            (model, clip, vae),
            {"trigger_token": trigger_token, "class_word": class_word},
            {"prompts": prompts, "strengths": strengths, "extra_loras": extra_loras, "lora_file": lora_file},
            guidance,
            (reference_dataset, reference_images),
        )
        if not trigger_token.strip():
            raise EvaluationError(
                "The trigger token is empty", "enter the token the LoRA was trained with", "trigger_token"
            )
        specs = parse_prompts(prompts)
        strength_list = parse_strengths(strengths)
        seed_list = [base_seed + i for i in range(seeds)]
        texts = {spec.prompt_id: spec.render(trigger_token.strip(), class_word.strip()) for spec in specs}
        plan = SweepPlan(
            specs, texts, strength_list, seed_list, steps, guidance, sampler_name, scheduler, width, height
        )
        if checkpoints is not None:
            _check_sweep_size(plan, 2 if sweep_tied_checkpoint else 1, probe_beyond)
        reference = _reference_once(reference_dataset, reference_images)
        if checkpoints is not None:
            words = (trigger_token.strip(), class_word.strip())
            references = (reference_dataset, reference)
            files = _checkpoint_files(
                checkpoints, plan, (model, clip, vae), words, references, face_backend, sweep_tied_checkpoint
            )
        else:
            files = _lora_files(lora_name, lora_file, extra_loras, plan, probe_beyond)
        progress, names, paths = files.progress, files.names, files.paths
        entries = []
        for name, path in zip(names, paths, strict=True):
            sample_lora(plan, model, clip, vae, name, path, progress, entries, strength_list)
        sweep = Sweep(
            entries=entries,
            trigger_token=trigger_token.strip(),
            class_word=class_word.strip(),
            settings={
                "steps": steps,
                "guidance": guidance,
                "cfg": FLUX_CFG,
                "sampler": sampler_name,
                "scheduler": scheduler,
                "width": width,
                "height": height,
                "base_seed": base_seed,
                "seeds": seeds,
                "strengths": strength_list,
                "loras": names,
                "model_weight_dtype": model_weight_dtype(model),
            },
            training_runs={
                name: _training_run(name, path, files.run_metadata)
                for name, path in zip(names, paths, strict=True)
            },
            checkpoints=files.checkpoint_sweep,
        )
        probe_text = ""
        if probe_beyond:
            sampler = _ProbeSampler(plan, (model, clip, vae), dict(zip(names, paths, strict=True)), progress)
            probe_text = _probe(sweep, sampler, reference, face_backend)
        grid = sweep_grid(sweep, title=f"{files.title}  |  token '{sweep.trigger_token}'")
        summary = "\n".join(
            [
                *files.summary_lines,
                f"{len(sweep.entries)} images: {len(names)} LoRA file(s) x {len(strength_list)} strengths x "
                f"{len(specs)} prompts x {len(seed_list)} seeds (seeds {seed_list[0]}..{seed_list[-1]}), "
                f"sampled with the connected MODEL "
                f"({sweep.settings['model_weight_dtype'] or 'weight dtype unknown'}).",
                *([probe_text] if probe_text else []),
            ]
        )
        return {
            "ui": {"images": [save_preview_png(grid, "strength_sweep_grid")], "text": [summary]},
            "result": (
                arrays_to_images([entry.image for entry in sweep.entries]),
                arrays_to_images([grid]),
                sweep,
            ),
        }


class _SweptFiles:
    """The LoRA files of the full pass, their names in the sweep, and the progress bar sized for them."""

    def __init__(
        self, names, paths, progress, title, summary_lines=(), checkpoint_sweep=None, run_metadata=None
    ):
        self.names, self.paths, self.progress, self.title = names, paths, progress, title
        self.summary_lines = list(summary_lines)
        self.checkpoint_sweep = checkpoint_sweep
        self.run_metadata = run_metadata or {}  # the run's identity_lora_* keys (checkpoints only)


def _check_inputs(models, words: dict, texts: dict, guidance, references) -> None:
    """Every input a client could send as anything, before any parsing or sampling."""
    from ..identity_core.input_limits import check_number, check_text, check_word
    from .input_checks import require_dataset, require_images, require_models

    for name, value in words.items():
        check_word(name, value)
    for name, value in texts.items():
        if value is not None:
            check_text(name, value)
    check_number("guidance", guidance, 0.0, 100.0)
    require_models(*models)
    require_dataset("reference_dataset", references[0], optional=True)
    require_images("reference_images", references[1], optional=True)


def _check_sweep_size(plan, lora_files: int, probe_beyond: bool) -> None:
    """The images the full pass (and its probes) will hold, within the count and pixel caps."""
    from ..identity_core.evaluation.prompts import PROBE_STRENGTHS
    from ..identity_core.input_limits import check_count

    probes = len(PROBE_STRENGTHS) * plan.images_per_strength if probe_beyond else 0
    images = lora_files * (plan.images_per_lora + probes)
    check_count("sweep images", images)
    check_count("sweep megapixels", -(-images * plan.width * plan.height // 1_000_000))


def _lora_files(lora_name, lora_file, extra_loras, plan, probe_beyond) -> _SweptFiles:
    """lora_name (or the connected lora_file) and extra_loras, from ComfyUI's loras folders."""
    from ..identity_core.evaluation.prompts import parse_name_list

    names = [_chosen_lora(lora_name, lora_file)]
    names += [n for n in parse_name_list(extra_loras) if n not in names]
    _check_sweep_size(plan, len(names), probe_beyond)
    paths = [_resolve_lora(name) for name in names]
    names = [lora_display_name(path) for path in paths]  # as LoraLoader lists it, no server path
    progress = progress_bar(len(paths) * plan.images_per_lora * plan.steps)
    return _SweptFiles(names, paths, progress, ", ".join(names))


def _checkpoint_files(value, plan, models, words, references, backend_name, sweep_tie) -> _SweptFiles:
    """The coarse pass over the run's checkpoints, then the best one (and a tie when ``sweep_tie``),
    labelled ``step N``."""
    from .checkpoint_pass import checkpoint_set_of, coarse_image_count, run_coarse_pass

    checkpoint_set = checkpoint_set_of(value)
    coarse = coarse_image_count(checkpoint_set, plan, references[0], backend_name)
    progress = progress_bar((coarse + plan.images_per_lora) * plan.steps)
    checkpoint_sweep = run_coarse_pass(
        checkpoint_set, plan, models, words, references, backend_name, progress
    )
    if not sweep_tie and checkpoint_sweep.pick.tie is not None:
        checkpoint_sweep = _without_tie(checkpoint_sweep)
    swept = checkpoint_sweep.swept
    extra = (len(swept) - 1) * plan.images_per_lora * plan.steps
    progress.update_absolute(progress.current, progress.total + extra)
    lines = [
        *checkpoint_sweep.summary_lines(),
        "The checkpoints input decides the LoRA files: lora_name, lora_file and extra_loras are ignored.",
    ]
    title = f"{checkpoint_set.run_name or 'run'}: {', '.join(f.label for f in swept)}"
    return _SweptFiles(
        [f.label for f in swept], [str(f.path) for f in swept], progress, title, lines, checkpoint_sweep,
        _run_metadata(checkpoint_set),
    )  # fmt: skip


def _without_tie(checkpoint_sweep):
    """The tie stays in the report but is not swept: a second full sweep doubles the sweep's time."""
    pick = checkpoint_sweep.pick
    reason = f"{pick.reason}; step {pick.tie} is not swept (sweep_tied_checkpoint is off)"
    return dataclasses.replace(checkpoint_sweep, pick=dataclasses.replace(pick, tie=None, reason=reason))


def _run_metadata(checkpoint_set) -> dict[str, str]:
    """The published LoRA's identity_lora_* keys: how the run was trained, true for every checkpoint."""
    from ..sd_scripts_bridge.lora_file import read_metadata
    from ..sd_scripts_bridge.publish import OUR_PREFIX

    published = checkpoint_set.publish_to
    if published is None or not Path(published).is_file():
        return {}
    try:
        metadata = read_metadata(Path(published))
    except (OSError, ValueError):
        return {}
    return {key: value for key, value in metadata.items() if key.startswith(OUR_PREFIX)}


def _training_run(name: str, path: str, run_metadata: dict[str, str]):
    """How the LoRA file was trained, from its metadata and whether it holds text-encoder keys.

    ``run_metadata``: keys that hold for the whole run (a checkpoint lacks the identity_lora_* keys
    that publishing adds); the file's own keys win.
    """
    from ..identity_core.evaluation import TrainingRun
    from ..sd_scripts_bridge.lora_file import inspect_lora

    report = inspect_lora(Path(path), check_values=False)
    has_text_encoder = any(module.startswith(("lora_te", "text_encoder")) for module in report.modules)
    metadata = {**run_metadata, **report.metadata}
    return TrainingRun.from_file(name, metadata, has_text_encoder if report.modules else None)


class _ProbeSampler:
    """Samples extra strengths for one LoRA into the sweep being built (same plan, same models)."""

    def __init__(self, plan, models, paths, progress):
        self.plan = plan
        self.models = models  # (MODEL, CLIP, VAE) as connected
        self.paths = paths  # LoRA name -> file
        self.progress = progress

    def sample(self, sweep, lora_name: str, strengths: list[float]) -> None:
        extra = len(strengths) * self.plan.images_per_strength * self.plan.steps
        self.progress.update_absolute(self.progress.current, self.progress.total + extra)
        model, clip, vae = self.models
        sample_lora(
            self.plan, model, clip, vae, lora_name, self.paths[lora_name], self.progress, sweep.entries,
            strengths, beyond_design=True,
        )  # fmt: skip


def _reference_once(dataset, images):
    """The reference photos, analysed once for the coarse pass and the probe together."""
    from ..identity_core.evaluation.reference import ReferenceOnce

    return ReferenceOnce(lambda: reference_photos(dataset, images, required=False), is_interrupted)


def _probe(sweep, sampler: _ProbeSampler, reference_once, backend_name: str) -> str:
    """Sample 1.5/2.0 for the LoRAs whose likeness still rises at the top; say what was decided."""
    from ..identity_core.evaluation import Thresholds
    from ..identity_core.evaluation.probe import decide_probes

    if not reference_once.photos():
        return "Not probed beyond the sweep: connect reference_dataset or reference_images (probe_beyond)."
    choice = load_face_backend(backend_name, "auto")
    reference = reference_once.identity(choice.backend)
    thresholds = Thresholds.from_scale(choice.backend.scale)
    decisions = decide_probes(sweep, reference, choice.backend, thresholds, is_interrupted)
    sweep.settings["probes"] = [
        {"lora": d.lora_name, "strengths": list(d.strengths), "reason": d.reason} for d in decisions
    ]
    for decision in decisions:
        if decision.strengths:
            sampler.sample(sweep, decision.lora_name, list(decision.strengths))
    return "\n".join(f"Probe ({choice.backend.name}): {d.reason}." for d in decisions)


def _resolve_lora(name: str) -> str:
    from ..identity_core.evaluation import EvaluationError

    path = lora_full_path(name)
    if path is None:
        raise EvaluationError(
            f"The LoRA '{name}' is not in ComfyUI's loras folders",
            "pick a file from the list, or put the .safetensors file into models/loras (a LoRA is never "
            "loaded from elsewhere)",
            "lora_name",
        )
    return path


def _chosen_lora(lora_name: str, lora_file: str | None) -> str:
    """The connected lora_file wins; the placeholder choice without a connection is an error."""
    if lora_file and lora_file.strip():
        return lora_file.strip()
    if lora_name == USE_LORA_FILE:
        from ..identity_core.evaluation import EvaluationError

        raise EvaluationError(
            "lora_name is '(use lora_file)' but nothing is connected to lora_file",
            "pick a LoRA from models/loras in lora_name, or connect TrainIdentityLoRA's lora_path to "
            "lora_file",
            "lora_name",
        )
    return lora_name
