"""StrengthSweep: sample a fixed prompt set over LoRA strengths and seeds, for ArcFaceScore.

Everything runs through ComfyUI's own functions (``sweep_sampling``, ``comfy_glue.sampling``): the
LoRA file is read once per file and re-applied per strength with the core LoRA loader function; each
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

The steps, one module each: the inputs and the plan (``sweep_inputs``), the LoRA files swept
(``sweep_files``), the sampling (``sweep_sampling``), the probe (``sweep_probe``).
"""

from __future__ import annotations

from .comfy_glue.hidden_paths import hiding_private_paths
from .comfy_glue.images import arrays_to_images, save_preview_png
from .comfy_glue.lora_folders import lora_names
from .comfy_glue.sampling import model_weight_dtype, sampler_names, scheduler_names
from .face_reference import BACKENDS, References
from .pack_names import CATEGORY_ROOT, CHECKPOINTS_TYPE, DATASET_TYPE, SWEEP_TYPE
from .sweep_files import USE_LORA_FILE, SweptFiles, swept_files, training_runs
from .sweep_inputs import SweepInputs, checked_plan
from .sweep_probe import probe_beyond
from .sweep_sampling import FLUX_CFG, SweepPlan, sample_lora


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
                        "also sample 1.5 and 2.0 (beyond the evaluation protocol's sweep) before anyone "
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
    def run(self, **inputs):
        """ComfyUI passes the inputs by name; ``SweepInputs`` holds them, with the optional ones' defaults."""
        request = SweepInputs(**inputs)
        plan = checked_plan(request)
        references = References.of(request.reference_dataset, request.reference_images)
        files = swept_files(request, plan, references)
        sweep = _sweep(request, plan, files)
        probe_text = ""
        if request.probe_beyond:
            probe_text = probe_beyond(sweep, plan, request.models, files, references, request.face_backend)
        return _outputs(sweep, plan, files, probe_text)


def _sweep(request: SweepInputs, plan: SweepPlan, files: SweptFiles):
    """Every LoRA file over every strength, prompt and seed, with the settings and how each was trained."""
    from ..identity_core.evaluation.model import Sweep

    entries = [
        entry for lora in files.loras for entry in sample_lora(plan, request.models, lora, files.progress)
    ]
    settings = {
        "steps": plan.steps,
        "guidance": plan.guidance,
        "cfg": FLUX_CFG,
        "sampler": plan.sampler,
        "scheduler": plan.scheduler,
        "width": plan.width,
        "height": plan.height,
        "base_seed": request.base_seed,
        "seeds": request.seeds,
        "strengths": list(plan.strengths),
        "loras": files.names,
        "model_weight_dtype": model_weight_dtype(request.model),
    }
    return Sweep(
        entries=entries,
        trigger_token=plan.trigger_token,
        class_word=plan.class_word,
        settings=settings,
        training_runs=training_runs(files),
        checkpoints=files.checkpoint_sweep,
    )


def _outputs(sweep, plan: SweepPlan, files: SweptFiles, probe_text: str) -> dict:
    """The images, their grid and the sweep; the grid and a summary shown on the node."""
    from ..identity_core.reports.grid import sweep_grid

    grid = sweep_grid(sweep, title=f"{files.title}  |  token '{sweep.trigger_token}'")
    seeds, dtype = plan.seeds, sweep.settings["model_weight_dtype"] or "weight dtype unknown"
    summary = [
        *files.summary_lines,
        f"{len(sweep.entries)} images: {len(files.loras)} LoRA file(s) x {len(plan.strengths)} strengths x "
        f"{len(plan.specs)} prompts x {len(seeds)} seeds (seeds {seeds[0]}..{seeds[-1]}), "
        f"sampled with the connected MODEL ({dtype}).",
        *([probe_text] if probe_text else []),
    ]
    return {
        "ui": {"images": [save_preview_png(grid, "strength_sweep_grid")], "text": ["\n".join(summary)]},
        "result": (
            arrays_to_images([entry.image for entry in sweep.entries]),
            arrays_to_images([grid]),
            sweep,
        ),
    }
