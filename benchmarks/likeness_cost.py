"""What likeness over training costs: the engine's likeness samples and their scoring, against training.

Measured here, side by side in one run, with the REAL engine on the tiny FLUX set (CPU):

- run A trains ``--steps`` steps with a checkpoint every step and no samples;
- runs B and C are the same with ``--images`` sample prompts sampled once, at step 2, with
  ``--sample-steps`` and twice as many denoising steps per image (the live likeness samples 5 per
  checkpoint: portrait and environment x 2 seeds, and the pose probe; fewer here, as every prompt
  also costs a T5-XXL pass at the engine's start, about two minutes each on this CPU).

A sampling round is B's (or C's) step-2-to-3 gap minus A's; the training step is A's median gap.
C's round minus B's is the cost of the extra denoising steps alone, so it separates the cost of one
denoising step from what each image costs once (noise, VAE decode, saving the picture). Their
ratios to a training step, ``r_step`` and ``r_image``, give the live likeness's cost over a Fast run
at this CPU's ratios. The scoring of one sample image (CenterFace + dlib, the offline default) is
timed on a 512 px photo; it runs in ComfyUI's process while the engine keeps training.

The GPU figure is an estimate from the measured H100 baseline (Fast profile, 512 px, batch 1):
1.22 s per training step with gradient checkpointing and 0.86 s without; a step without
checkpointing is one forward and a backward of about two forwards, so one forward (a denoising
step of the engine's sampler at the same size) is about 0.86 / 3 = 0.29 s, and 1.22 / 4 = 0.30 s
with checkpointing's extra forward agrees. The coarse pass over checkpoints reuses the live
samples (nothing is sampled again); the full sweep runs on one checkpoint, the sweep the pack ran
before checkpoints existed, so it adds nothing; a tied second checkpoint is swept only when asked.

Usage: ``IDENTITY_LORA_ENGINE=/path/to/engine python benchmarks/likeness_cost.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sd_scripts_bridge.engine.folder import locate_engine  # noqa: E402
from sd_scripts_bridge.job import JobOptions, run_job  # noqa: E402
from sd_scripts_bridge.model import EngineSamplePrompt  # noqa: E402

GPU_TRAIN_STEP_S = 1.22  # H100, Fast profile, fp8 base + gradient checkpointing (GPU baseline)
GPU_FORWARD_S = 0.86 / 3  # one forward at 512 px: a step without checkpointing is ~3 forwards
FAST_STEPS, CHECKPOINT_EVERY, SAMPLE_STEPS = 1500, 250, 20
LIKENESS_IMAGES = 5  # portrait and environment x 2 seeds, and the pose probe


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--sample-steps", type=int, default=2, help="denoising steps per sample image")
    parser.add_argument("--images", type=int, default=2, help="sample prompts in the measured round")
    return parser.parse_args()


def timed_run(work: Path, name: str, steps: int, prompts: tuple) -> dict[int, float]:
    """The wall-clock time at which each training step's event arrived."""
    from devkit.demo_dataset import ensure_demo_dataset
    from devkit.tiny_flux import ensure_tiny_flux
    from devkit.tiny_training import TINY_OVERRIDES, EngineInputs, tiny_request
    from devkit.tokenizers import ensure_tokenizers

    inputs = EngineInputs(ensure_tiny_flux(), ensure_tokenizers(), ensure_demo_dataset())
    request = tiny_request(
        inputs,
        work / name,
        output_name=name,
        overrides={**TINY_OVERRIDES, "max_train_steps": steps},
        save_every_n_steps=1,
        sample_prompts=prompts,
        sample_every_n_steps=2 if prompts else None,
    )
    arrived: dict[int, float] = {}

    def on_event(event) -> None:
        if event.kind == "step" and event.step not in arrived:
            arrived[event.step] = time.monotonic()

    run_job(request, locate_engine(), on_event=on_event, options=JobOptions(resume=False))
    return arrived


def scoring_seconds() -> float:
    """CPU seconds to score one 512 px sample against a reference (offline default backend)."""
    import numpy as np
    from PIL import Image

    from devkit.photos import grace_hopper
    from identity_core.evaluation.measure import measure_image
    from identity_core.evaluation.reference import build_reference
    from identity_core.faces.centerface_backend import CenterFaceBackend

    backend = CenterFaceBackend()
    photo = grace_hopper()
    reference = build_reference([("a.jpg", photo)], backend)
    sample = np.asarray(Image.fromarray(photo).resize((512, 512)))
    measure_image(sample, backend, reference)  # warm
    started = time.process_time()
    for _ in range(5):
        measure_image(sample, backend, reference)
    backend.close()
    return (time.process_time() - started) / 5


def sample_prompts(images: int, steps: int) -> tuple[EngineSamplePrompt, ...]:
    return tuple(
        EngineSamplePrompt(f"zyqux, a photo of a person, sample {i}", seed=42 + i, steps=steps)
        for i in range(images)
    )


def main() -> int:
    args = parse_args()
    short, long = args.sample_steps, 2 * args.sample_steps
    with tempfile.TemporaryDirectory(prefix="likeness-cost-") as folder:
        plain = timed_run(Path(folder), "plain", args.steps, ())
        sampled = timed_run(Path(folder), "sampled", args.steps, sample_prompts(args.images, short))
        longer = timed_run(Path(folder), "longer", args.steps, sample_prompts(args.images, long))
    gaps = [plain[s + 1] - plain[s] for s in sorted(plain) if s + 1 in plain]
    step_s = statistics.median(gaps)
    round_short = (sampled[3] - sampled[2]) - (plain[3] - plain[2])
    round_long = (longer[3] - longer[2]) - (plain[3] - plain[2])
    per_step_s = (round_long - round_short) / (args.images * (long - short))
    per_image_s = max(0.0, round_short / args.images - short * per_step_s)
    rounds = FAST_STEPS // CHECKPOINT_EVERY
    live_images = rounds * LIKENESS_IMAGES
    cpu_share = live_images * (per_image_s + SAMPLE_STEPS * per_step_s) / step_s / FAST_STEPS
    gpu_ratio = GPU_FORWARD_S / GPU_TRAIN_STEP_S
    gpu_share = live_images * SAMPLE_STEPS * gpu_ratio / FAST_STEPS
    score_s = scoring_seconds()
    print(f"tiny FLUX, real engine, CPU: training step {step_s:.1f} s (median of {len(gaps)})")
    print(
        f"sampling rounds of {args.images} images: {round_short:.1f} s at {short} steps, "
        f"{round_long:.1f} s at {long} steps"
    )
    print(
        f"one denoising step {per_step_s:.1f} s = {per_step_s / step_s:.3f} training steps; once per image "
        f"{per_image_s:.1f} s = {per_image_s / step_s:.3f} (CPU); GPU estimate per denoising step "
        f"{gpu_ratio:.3f}"
    )
    print(
        f"Fast profile ({FAST_STEPS} steps, likeness every {CHECKPOINT_EVERY}: {rounds} rounds x "
        f"{LIKENESS_IMAGES} images x {SAMPLE_STEPS} steps): +{100 * gpu_share:.1f}% of training on the GPU "
        f"(estimate, denoising only), +{100 * cpu_share:.1f}% at this CPU's ratios"
    )
    print(
        f"scoring one sample: {score_s * 1000:.0f} ms of CPU in ComfyUI's process, beside the running "
        f"engine ({live_images * score_s:.0f} s over a Fast run); the coarse pass reuses the "
        "live samples (0 extra), the full sweep runs on one checkpoint (the sweep the pack always ran)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
