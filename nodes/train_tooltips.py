"""TrainIdentityLoRA's input tooltips: what each input does, with the profile values it defaults to."""

from __future__ import annotations

from ..sd_scripts_bridge.plan.profiles import PROFILES

PREVIEW_COST = (
    "Each round samples 5 images (6 with a preview prompt) of 20 denoising steps and a VAE decode, "
    "about 24 training steps on a GPU (estimate): a 1500-step Fast run with a round every 250 steps "
    "takes about 10% longer."
)
VALIDATION_COST = (
    "Each validation (at every checkpoint interval) runs 4 forward passes per held-out image, about "
    "1.3 training steps per image; held-out images are not trained on."
)


def _profiles(key: str) -> str:
    return ", ".join(f"{name.capitalize()} {profile.value(key):g}" for name, profile in PROFILES.items())


TOOLTIPS = {
    "dataset": "The checked dataset from CaptionTokenizer or DatasetCheck.",
    "profile": "fast: 512 px, 1500 steps, rank 32 (dataset validation, < 1 h). final: 768 px, 2500 steps, "
    "rank 64, dropout 0.1, cosine (best realism).",
    "vram_tier": "Memory settings for your GPU. auto picks from the VRAM that is free after ComfyUI unloads "
    "its models (and refuses below 6.8 GiB). 8/10/12/16/24gb: fp8 base + checkpointing (+ block swap up to "
    "24gb: 28/22/16/8 blocks); 48/80gb: bf16 base, no checkpointing, ~2.2x faster (changes numerics "
    "slightly).",
    "text_encoder": "auto = frozen (docs/profiles.md, text encoder policy). two_phase trains the CLIP-L LoRA "
    "for the first half of the steps; it needs regularization images, 15+ photos and a token that is not "
    "unique.",
    "diffusion_model": "FLUX.1-dev single-file model from models/diffusion_models.",
    "clip_l": "CLIP-L text encoder from models/text_encoders (or clip).",
    "t5xxl": "T5-XXL text encoder from models/text_encoders (or clip).",
    "ae": "FLUX autoencoder (ae) from models/vae.",
    "output_name": "LoRA file name; published as models/loras/identity/<name>.safetensors.",
    "seed": "Training seed.",
    "checkpoint_every": "Save a checkpoint and a resumable state every N steps (0: none; Cancel then loses "
    "the run).",
    "resume": "Continue a cancelled run of the same inputs at its last saved step. Off: start again (the old "
    "run folder is kept, renamed).",
    "overwrite": "Replace an existing LoRA of the same name.",
    "regularization": "Optional regularization dataset (other people, no trigger token); defaults to the one "
    "DatasetCheck attached.",
    "steps": f"0 = profile value ({_profiles('max_train_steps')}).",
    "learning_rate": f"0 = profile value ({_profiles('learning_rate')}).",
    "rank": f"LoRA rank; 0 = profile value ({_profiles('network_dim')}).",
    "alpha": "LoRA alpha; 0 = the rank when rank is set, else the profile value "
    f"({_profiles('network_alpha')}).",
    "resolution": f"Training resolution; 0 = profile value ({_profiles('resolution')}). Buckets widen to "
    "contain it.",
    "preview_every_n_steps": "0 = off. Every N steps the engine samples the likeness prompts (portrait and "
    "new environment, 2 fixed seeds each) and a pose probe; each face is scored against your photos as it "
    "appears (live likeness, the likeness curve, early stop). Use the checkpoint interval, so every "
    "checkpoint gets its score. " + PREVIEW_COST,
    "preview_prompt": "An extra preview prompt sampled with them ({token} and {class_word} are filled in, "
    "nothing else); empty = none.",
    "early_stop": "Stop when likeness has not improved for a few checkpoints while the loss still falls "
    "(needs previews), keeping the best checkpoint; resumable. auto: Fast on (2 checkpoints), Final off "
    "(its cosine tail refines detail).",
    "face_backend": "Face backend for the live likeness (as in ArcFaceScore).",
    "validation_split": "0 = off. Share of the images held out to measure validation loss, drawn on the loss "
    "curve (needs checkpoint_every > 0). " + VALIDATION_COST,
    "advanced_settings": 'Optional JSON of further profile values, e.g. {"lr_warmup_steps": 50, '
    '"t5xxl_max_token_length": 256}; applied last.',
    "oom_fallback": "Out of GPU memory: continue on the next smaller VRAM tier by itself, from the last "
    "saved state (the summary and the LoRA's metadata say so). Off: stop with the error.",
    "ram_check": "Before training, refuse a run whose estimated RAM peak (from the model files' size) "
    "exceeds the RAM available after ComfyUI released its models. Off: start anyway (still reported).",
    "num_processes": "Processes, one per GPU of this machine (data parallel through accelerate). Several "
    "machines: see docs/bridge.md, 'More than one GPU or machine'.",
}
