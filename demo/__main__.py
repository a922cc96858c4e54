"""``make demo``: the whole pipeline on a random-weight FLUX, real engine, real ComfyUI, real API.

Steps, each reported as done or missing (with what to do) in a summary at the end:

1. the random-weight FLUX.1 model set (``devkit.tiny_flux``), offline tokenizers (``devkit.tokenizers``)
   and the demo dataset (``devkit.demo_dataset``);
2. the sd-scripts engine (``demo.engine_setup``: ``IDENTITY_LORA_ENGINE``, else installed from
   ``IDENTITY_LORA_ENGINE_SRC`` or the public repository);
3. a ComfyUI host with this pack (``devkit/host.py``, the tests' harness), its base folder in
   ``<cache>/demo_host`` so the results stay after the demo;
4. the fast workflow queued through ``workflows/queue_client.py`` with a short CPU step count
   (``demo.fast_workflow``), then where the LoRA, sweep grid and score report are.

Usage: ``python -m demo [--steps N] [--keep-host]``.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from devkit.cache import cache_root
from devkit.demo_dataset import ensure_demo_dataset
from devkit.tiny_flux import ensure_tiny_flux
from devkit.tokenizers import ensure_tokenizers

T = TypeVar("T")
DEFAULT_STEPS = 4

RANDOM_WEIGHTS_NOTICE = """\
Note: this demo trains and samples a FLUX.1 model with RANDOM weights (1 double + 1 single block),
so every generated image is noise and every identity score is meaningless. It shows that the
pipeline runs end to end: real sd-scripts training, real ComfyUI nodes, real API queue.
To use real FLUX.1-dev weights, put flux1-dev.safetensors in ComfyUI's models/diffusion_models,
clip_l.safetensors and t5xxl_fp16.safetensors (or t5xxl_fp8_e4m3fn.safetensors) in
models/text_encoders and ae.safetensors in models/vae, then queue the same workflow on your server:
  python workflows/queue_client.py workflows/api/identity_fast.json --server http://127.0.0.1:8188 \\
      --set dataset=/path/to/photos --set token=zyqux --set class_word=man
(or open example_workflows/identity_fast.json in ComfyUI and pick the files in the loader nodes)."""


@dataclass
class DemoReport:
    done: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def step(self, name: str, action: Callable[[], T]) -> T | None:
        """Run one step; a failure is recorded as missing (with its message) instead of raised."""
        print(f"\n== {name}", flush=True)
        try:
            result = action()
        except Exception as err:  # the demo reports every missing piece, then exits non-zero
            self.missing.append(f"{name}: {err}")
            print(f"   missing: {err}", flush=True)
            return None
        self.done.append(name)
        return result

    def skip(self, name: str, needs: str) -> None:
        self.missing.append(f"{name}: needs {needs} (see above)")

    def print_summary(self) -> None:
        print("\n== Summary")
        for name in self.done:
            print(f"   done:    {name}")
        for line in self.missing:
            print(f"   MISSING: {line}")


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def start_host(files: Any, engine: Any, base_dir: Path, cpu: bool, photos_root: Path) -> Any:
    """The demo's ComfyUI, allowing the demo dataset's folder as a server owner would (an allowed
    root, see docs/shared-server.md, "Folders")."""
    from devkit.host import Host
    from identity_core.access import ALLOWED_ROOTS_ENV

    env = {"IDENTITY_LORA_ENGINE": str(engine.root), ALLOWED_ROOTS_ENV: str(photos_root)}
    if cpu:
        env["IDENTITY_LORA_FORCE_CPU"] = "1"  # the node refuses CPU training unless told (tiny models only)
    host = Host(base_dir=base_dir, env=env)
    links = files.link_into_comfy_models(host.models_dir)
    print("   models linked: " + ", ".join(str(p.relative_to(host.models_dir)) for p in links.values()))
    host.start()
    print(f"   ComfyUI is up at {host.url} (base folder {host.base_dir}, log {host.log_path})")
    return host


def print_results(base_dir: Path) -> None:
    """Where the demo's outputs landed in the host's folders."""
    loras = sorted((base_dir / "models" / "loras").rglob("*.safetensors"))
    outputs = sorted(p for p in (base_dir / "output").rglob("*") if p.is_file())
    print("\n== Results")
    for path in loras:
        print(f"   LoRA:   {path}")
    for path in outputs:
        print(f"   output: {path}")
    if not loras and not outputs:
        print(f"   nothing was written under {base_dir}")
    print_checkpoint_choice(outputs)


def print_checkpoint_choice(outputs: list[Path]) -> None:
    """The score report's checkpoints and its (checkpoint, strength) recommendation, as JSON."""
    reports = [p for p in outputs if p.suffix == ".json" and "arcface" in p.name]
    for path in sorted(reports, key=lambda p: p.stat().st_mtime)[-1:]:
        report = json.loads(path.read_text(encoding="utf-8"))
        chosen = {key: report.get(key) for key in ("by_checkpoint", "recommended")}
        print(f"\n== Checkpoint x strength ({path.name})")
        print("\n".join("   " + line for line in json.dumps(chosen, indent=2).splitlines()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description="the end-to-end demo (make demo)")
    parser.add_argument(
        "--steps",
        type=int,
        default=DEFAULT_STEPS,
        help="training steps (CPU: 1-3 min each on CPUs without bf16 units)",
    )
    parser.add_argument("--keep-host", action="store_true", help="leave ComfyUI running at the end")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="   %(message)s")
    report = DemoReport()
    base_dir = cache_root() / "demo_host"
    cpu = not cuda_available()
    print(f"training on {'the CPU (tiny settings)' if cpu else 'the GPU'}")

    files = report.step("random-weight FLUX.1 model set", ensure_tiny_flux)
    tokenizers = report.step("offline tokenizers", ensure_tokenizers)
    dataset = report.step("demo dataset", ensure_demo_dataset)
    engine = None
    if tokenizers is None:
        report.skip("sd-scripts engine", "the offline tokenizers")
    else:
        from .engine_setup import ensure_engine

        engine = report.step("sd-scripts engine", lambda: ensure_engine(tokenizers))
    host = None
    if files is None or engine is None or dataset is None:
        report.skip("ComfyUI host", "the model set, the engine and the dataset")
    else:
        host = report.step("ComfyUI host", lambda: start_host(files, engine, base_dir, cpu, dataset.root))
    try:
        if host is None or dataset is None:
            report.skip("fast workflow", "the host and the dataset")
        else:
            from .fast_workflow import queue_fast_workflow

            download = base_dir / "downloads"
            report.step(
                "fast workflow",
                lambda: queue_fast_workflow(host.url, dataset, files, args.steps, download, cpu),
            )
            print_results(base_dir)
        if host is not None and args.keep_host:
            input(f"\nComfyUI keeps running at {host.url}; press Enter to stop it. ")
    finally:
        if host is not None:
            host.stop()
    report.print_summary()
    print("\n" + RANDOM_WEIGHTS_NOTICE)
    return 1 if report.missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
