"""Node overhead: TrainIdentityLoRA in a real ComfyUI host versus the bare engine command, same run.

Each round queues the node in a ComfyUI host (the test harness's server, CPU) with a new seed,
so it trains (a seed changes the content key; nothing is reused), then runs that run's exact
engine command (``command.json``) bare with ``subprocess.run``, output to a file, after removing
what the node's run produced (outputs, and the latent/text-encoder caches next to the staged
images), so both do the same work. Node time is the ComfyUI time of the node, from its
``executing`` message to its ``executed`` message on /ws: it includes freeing VRAM, hashing the
dataset, planning, staging, the supervised engine run, LoRA checks, publishing with metadata,
the loss chart and the report. Target: at most 2% more wall time than the bare command.

Engines:
  * default: the stand-in engine (devkit/stand_in_engine, a test double that sleeps
    ``--sec-per-step`` per step and writes a real-layout LoRA), 4 tiny photos;
  * ``IDENTITY_LORA_ENGINE`` set: the real sd-scripts engine on CPU with the tiny random FLUX set
    (devkit/tiny_flux.py) and 3 demo images at 128 px (minutes per run, ~6.5 GB RAM: run alone).

Usage: python benchmarks/node_overhead.py [--rounds 2] [--steps N] [--sec-per-step 0.5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from devkit.host import Host  # noqa: E402
from devkit.train_host import (  # noqa: E402
    DEFAULT_PACK_NAME,
    TEST_NODES,
    prepare_base,
    train_prompt,
    write_photos,
)
from sd_scripts_bridge.engine.folder import ENGINE_ENV_VAR, locate_engine  # noqa: E402
from sd_scripts_bridge.run.runner import engine_environment  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2, help="node + bare pairs (default 2)")
    parser.add_argument("--steps", type=int, default=None, help="steps per run (stand-in 60, real 4)")
    parser.add_argument("--sec-per-step", type=float, default=0.5, help="stand-in engine only")
    return parser.parse_args()


def start_host(work: Path, real: bool, sec_per_step: float) -> tuple[Host, dict, Path]:
    """The host, the node's fixed inputs, and the engine folder."""
    env = {"IDENTITY_LORA_FORCE_CPU": "1"}
    if real:
        from devkit.demo_dataset import ensure_demo_dataset
        from devkit.tiny_flux import ensure_tiny_flux
        from devkit.tiny_training import TINY_OVERRIDES

        engine = locate_engine(os.environ[ENGINE_ENV_VAR])
        models = ensure_tiny_flux()
        data = ensure_demo_dataset()
        items = [[str(i.path), i.caption] for i in data.subject[:3]]
        advanced = {k: v for k, v in TINY_OVERRIDES.items() if k not in ("network_dim", "network_alpha")}
        inputs = {
            "diffusion_model": models.dit.name,
            "clip_l": models.clip_l.name,
            "t5xxl": models.t5xxl.name,
            "ae": models.ae.name,
            "advanced_settings": json.dumps(advanced),
            "token": data.trigger,
        }
    else:
        engine_root = work / "stand_in_engine"
        from devkit.stand_in_engine import stand_in

        engine = stand_in.build_engine(engine_root)
        env.update(IDENTITY_LORA_ALLOW_UNPINNED_ENGINE="1", STAND_IN_SEC_PER_STEP=str(sec_per_step))
        os.environ["STAND_IN_SEC_PER_STEP"] = str(sec_per_step)  # the bare command gets the same
        items = write_photos(work / "photos", 4)
        models = None
        inputs = {}
    env[ENGINE_ENV_VAR] = str(engine.root)
    extra = ("--whitelist-custom-nodes", DEFAULT_PACK_NAME, TEST_NODES)
    host = Host(env=env, extra_args=extra, base_dir=work / "host")
    prepare_base(host.base_dir)
    if models is not None:
        models.link_into_comfy_models(host.models_dir)
    host.start()
    return host, {"items": items, **inputs}, engine.source_dir


def node_seconds(host: Host, prompt: dict) -> tuple[float, dict]:
    """ComfyUI time of node "2" (executing -> executed), and its outputs."""
    marks: dict[str, float] = {}

    def on_message(message: dict) -> None:
        data = message.get("data") or {}
        if data.get("node") == "2" and message.get("type") in ("executing", "executed"):
            marks.setdefault(message["type"], time.monotonic())

    run = host.client.run(prompt, on_message=on_message, timeout=3600)
    if run.status != "success":
        raise RuntimeError(f"the node failed: {run.error}\n{host.log_tail(30)}")
    return marks["executed"] - marks["executing"], run.outputs["2"]


def bare_seconds(run_dir: Path, source_dir: Path) -> float:
    """The node run's own engine command, bare, after removing what that run produced."""
    launches = json.loads((run_dir / "command.json").read_text())
    argv = launches[-1]["argv"]
    shutil.rmtree(run_dir / "output")
    (run_dir / "output").mkdir()
    for cache in (run_dir / "dataset").rglob("*.npz"):
        cache.unlink()
    started = time.monotonic()
    with (run_dir / "bare_engine.log").open("w") as log:
        subprocess.run(
            argv, cwd=source_dir, env=engine_environment(run_dir), stdout=log, stderr=log, check=True
        )
    return time.monotonic() - started


def main() -> int:
    args = parse_args()
    real = bool(os.environ.get(ENGINE_ENV_VAR))
    steps = args.steps or (4 if real else 60)
    work = Path(tempfile.mkdtemp(prefix="node-overhead-"))
    host, fixed, source_dir = start_host(work, real, args.sec_per_step)
    print(f"engine: {'real sd-scripts (CPU, tiny FLUX)' if real else 'stand-in'}; {steps} steps per run")
    try:
        node_times, bare_times = [], []
        for round_index in range(args.rounds):
            prompt = train_prompt(
                fixed["items"],
                f"overhead_{round_index}",
                steps=steps,
                token=fixed.get("token", "ohwx"),
                checkpoint_every=0,
                seed=1000 + round_index,
                **{k: v for k, v in fixed.items() if k not in ("items", "token")},
            )
            node_s, outputs = node_seconds(host, prompt)
            run_dir = Path(outputs["text"][0].split("Run folder: ", 1)[1].splitlines()[0].strip())
            bare_s = bare_seconds(run_dir, source_dir)
            node_times.append(node_s)
            bare_times.append(bare_s)
            print(
                f"round {round_index + 1}: node {node_s:.2f} s, bare {bare_s:.2f} s, "
                f"overhead {100 * (node_s / bare_s - 1):+.1f}%",
                flush=True,
            )
        node_median, bare_median = statistics.median(node_times), statistics.median(bare_times)
        print(
            f"median: node {node_median:.2f} s, bare engine command {bare_median:.2f} s, "
            f"ratio {node_median / bare_median:.4f} ({100 * (node_median / bare_median - 1):+.1f}%; "
            "target <= +2%)"
        )
    finally:
        host.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
