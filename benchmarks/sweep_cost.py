"""Sweep cost per image: StrengthSweep versus the plain core graph that makes the same images.

Runs one ComfyUI host (CPU) with the tiny random-weight FLUX (devkit/tiny_flux.py), a LoRA in
sd-scripts' key layout and the test-only stand-in text encoder (devkit/standin_flux_text_encoder.py:
the full-size T5-XXL does not fit a CPU benchmark). The core graph is UNETLoader ->
LoraLoaderModelOnly (one per strength) -> CLIPTextEncode + FluxGuidance -> KSampler -> VAEDecode,
one chain per image. Both graphs end in PreviewImage; rounds alternate A/B with a new base seed
so ComfyUI's cache never skips work, and the first round (model loading) is reported apart.

usage: python benchmarks/sweep_cost.py [--size 128] [--steps 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devkit.host import DEFAULT_PACK_NAME, Host
from devkit.sweep_host import LORA_NAME, STANDIN_MODULE, prepare_sweep_host, sweep_nodes
from devkit.tiny_flux import ensure_tiny_flux

TEMPLATES = {"portrait": "a photo of {token} {class_word}", "control": "a photo of a {class_word}"}
PROMPTS = {
    pid: t.replace("{token}", "ohwx").replace("{class_word}", "person") for pid, t in TEMPLATES.items()
}
STRENGTHS = (0.5, 1.0)
SEEDS = 2


def sweep_graph(dit: str, ae: str, seed: int, size: int, steps: int) -> dict:
    prompts = "\n".join(f"{pid}: {template}" for pid, template in TEMPLATES.items())
    strengths = ", ".join(map(str, STRENGTHS))
    return {
        **sweep_nodes(dit, ae, prompts, strengths, seeds=SEEDS, base_seed=seed, steps=steps, size=size),
        "5": {"class_type": "PreviewImage", "inputs": {"images": ["4", 0]}},
    }


def core_graph(dit: str, ae: str, seed: int, size: int, steps: int) -> dict:
    graph = {
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": dit, "weight_dtype": "default"}},
        "2": {"class_type": "VAELoader", "inputs": {"vae_name": ae}},
        "3": {"class_type": "StandInFluxTextEncoder", "inputs": {}},
        "4": {
            "class_type": "EmptySD3LatentImage",
            "inputs": {"width": size, "height": size, "batch_size": 1},
        },
    }
    for pid, text in PROMPTS.items():
        graph[f"enc_{pid}"] = {"class_type": "CLIPTextEncode", "inputs": {"clip": ["3", 0], "text": text}}
        graph[f"pos_{pid}"] = {
            "class_type": "FluxGuidance",
            "inputs": {"conditioning": [f"enc_{pid}", 0], "guidance": 3.5},
        }
        graph[f"neg_{pid}"] = {
            "class_type": "ConditioningZeroOut",
            "inputs": {"conditioning": [f"pos_{pid}", 0]},
        }
    for s_index, strength in enumerate(STRENGTHS):
        graph[f"lora_{s_index}"] = {
            "class_type": "LoraLoaderModelOnly",
            "inputs": {"model": ["1", 0], "lora_name": LORA_NAME, "strength_model": strength},
        }
        for pid in PROMPTS:
            for offset in range(SEEDS):
                key = f"{s_index}_{pid}_{offset}"
                graph[f"ks_{key}"] = {
                    "class_type": "KSampler",
                    "inputs": {
                        "model": [f"lora_{s_index}", 0],
                        "seed": seed + offset,
                        "steps": steps,
                        "cfg": 1.0,
                        "sampler_name": "euler",
                        "scheduler": "simple",
                        "positive": [f"pos_{pid}", 0],
                        "negative": [f"neg_{pid}", 0],
                        "latent_image": ["4", 0],
                        "denoise": 1.0,
                    },
                }
                graph[f"dec_{key}"] = {
                    "class_type": "VAEDecode",
                    "inputs": {"samples": [f"ks_{key}", 0], "vae": ["2", 0]},
                }
                graph[f"out_{key}"] = {"class_type": "PreviewImage", "inputs": {"images": [f"dec_{key}", 0]}}
    return graph


def timed(host: Host, graph: dict) -> float:
    start = time.perf_counter()
    run = host.run_prompt(graph, timeout=1800)
    if run.status != "success":
        raise SystemExit(f"prompt failed: {run.error}\n{host.log_tail(30)}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    files = ensure_tiny_flux(parts=("dit", "ae", "clip_l"))
    images = len(STRENGTHS) * len(PROMPTS) * SEEDS
    host = Host(
        pack_name=DEFAULT_PACK_NAME,
        extra_args=("--whitelist-custom-nodes", DEFAULT_PACK_NAME, STANDIN_MODULE),
    )
    prepare_sweep_host(host.base_dir, files.dit, files.ae)
    host.start()
    try:
        results: dict[str, list[float]] = {"sweep": [], "core": []}
        for round_index in range(args.rounds + 1):
            seed = 1000 * (round_index + 1)
            for name, build in (("sweep", sweep_graph), ("core", core_graph)):
                seconds = timed(host, build(files.dit.name, files.ae.name, seed, args.size, args.steps))
                label = "warm-up (loads models)" if round_index == 0 else f"round {round_index}"
                print(f"{label:>24} {name:>5}: {seconds:7.2f} s  {seconds / images:6.3f} s/image", flush=True)
                if round_index:
                    results[name].append(seconds / images)
        sweep, core = min(results["sweep"]), min(results["core"])
        mean_sweep = sum(results["sweep"]) / len(results["sweep"])
        mean_core = sum(results["core"]) / len(results["core"])
        print(f"\n{images} images per graph, {args.size}x{args.size}, {args.steps} steps, euler/simple, CPU")
        print(
            f"best per image: StrengthSweep {sweep:.3f} s, core graph {core:.3f} s, "
            f"sweep/core = {sweep / core:.3f} ({(sweep / core - 1) * 100:+.1f} %)"
        )
        print(
            f"mean per image: StrengthSweep {mean_sweep:.3f} s, core graph {mean_core:.3f} s, "
            f"sweep/core = {mean_sweep / mean_core:.3f} ({(mean_sweep / mean_core - 1) * 100:+.1f} %)"
        )
    finally:
        host.cleanup()


if __name__ == "__main__":
    main()
