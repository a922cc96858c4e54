"""Peak RAM of ComfyUI plus the engine while TrainIdentityLoRA trains, as a ratio to the model files.

For each tier (default ``24gb``: fp8 base, the setting of every tier up to 24gb on a CPU, where no
block is swapped; and ``80gb``: bf16 base) the node trains the tiny random FLUX set
(demo/tiny_flux.py: 1 + 1 block DiT, full-size fp8 T5-XXL, CLIP-L, AE; 6.4 GB of files) on CPU
with the REAL engine, in node_overhead.py's host (3 demo images at 64 px), twice in one run folder:

* first queue: a fresh run, so the engine caches the caption's text-encoder outputs (the T5-XXL
  is read and run), then trains step 1 and saves a state; the prompt is interrupted there;
* second queue: the same inputs resume at step 1 with the caches on disk and train step 2.

During each queue the PSS of ComfyUI's whole process tree (ComfyUI, the accelerate launcher, the
engine) is sampled every 0.5 s (``sd_scripts_bridge.engine.process_memory``: PSS counts pages shared
between processes once). Printed: the peaks, the model files' size and their ratio, which is what
``sd_scripts_bridge/run/ram_preflight.py`` (``RAM_RATIOS``) estimates from.

Needs ``IDENTITY_LORA_ENGINE`` and Linux (``/proc``); several minutes and up to ~12 GB of RAM per
tier on a 2-core CPU: run it alone (``flock /work/locks/engine.lock`` on a shared machine).

Usage: python benchmarks/ram_peak.py [--tiers 24gb,80gb]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import node_overhead  # noqa: E402  (its host with the real engine and the tiny FLUX)
from devkit.host import Host  # noqa: E402
from devkit.train_host import train_prompt  # noqa: E402  (the node's prompt)
from sd_scripts_bridge.engine.folder import ENGINE_ENV_VAR  # noqa: E402
from sd_scripts_bridge.engine.process_memory import PeakSampler, tree_memory  # noqa: E402

SAMPLE_S = 0.5


@dataclass(frozen=True)
class Peak:
    tier: str
    stage: str  # "caching + step 1" or "resumed, caches on disk"
    comfy_idle_gb: float
    peak_gb: float
    files_gb: float

    @property
    def ratio(self) -> float:
        return self.peak_gb / self.files_gb


def comfy_pid(port: int) -> int:
    """The ComfyUI server process listening on ``port`` (found by its command line)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"main.py" in cmdline and str(port).encode() in cmdline:
                return int(entry.name)
    raise RuntimeError(f"no ComfyUI process on port {port}")


class Sampling:
    """A background thread sampling the tree's PSS until stopped."""

    def __init__(self, root: int) -> None:
        self.sampler = PeakSampler([root])
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop_event.is_set():
            self.sampler.sample()
            self.stop_event.wait(SAMPLE_S)

    def stop(self) -> int:
        self.stop_event.set()
        self.thread.join(timeout=10)
        return self.sampler.peak_pss


def model_files_gb() -> float:
    from devkit.tiny_flux import ensure_tiny_flux

    models = ensure_tiny_flux()
    return sum(path.stat().st_size for path in (models.dit, models.clip_l, models.t5xxl, models.ae)) / 1e9


def measure_tier(host: Host, fixed: dict, files_gb: float, tier: str) -> list[Peak]:
    pid = comfy_pid(host.port)
    prompt = train_prompt(
        fixed["items"],
        f"ram_{tier}",
        steps=2,
        token=fixed["token"],
        checkpoint_every=1,
        vram_tier=tier,
        **{k: v for k, v in fixed.items() if k not in ("items", "token")},
    )
    peaks = []
    for stage in ("caching + step 1", "resumed, caches on disk"):
        idle = tree_memory([pid]).pss / 1e9
        sampling = Sampling(pid)

        def stop_after_step_1(message: dict, stage: str = stage) -> None:
            data = message.get("data") or {}
            if stage.startswith("caching") and data.get("kind") == "checkpoint" and data.get("step") == 1:
                host.interrupt()

        started = time.monotonic()
        run = host.client.run(prompt, on_message=stop_after_step_1, timeout=3600)
        peak = sampling.stop() / 1e9
        print(f"[{tier}] {stage}: {run.status} in {time.monotonic() - started:.0f} s", flush=True)
        if stage.startswith("resumed") and run.status != "success":
            raise RuntimeError(f"the resumed run failed: {run.error}\n{host.log_tail(30)}")
        peaks.append(Peak(tier, stage, idle, peak, files_gb))
    return peaks


def table(peaks: list[Peak]) -> str:
    lines = [
        "| tier | run | ComfyUI idle | ComfyUI + engine peak (PSS) | model files | ratio |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for p in peaks:
        lines.append(
            f"| {p.tier} | {p.stage} | {p.comfy_idle_gb:.2f} GB | {p.peak_gb:.2f} GB | {p.files_gb:.2f} GB | "
            f"{p.ratio:.2f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tiers", default="24gb,80gb", help="comma-separated tiers (default 24gb,80gb)")
    args = parser.parse_args()
    if not os.environ.get(ENGINE_ENV_VAR) or not Path("/proc/meminfo").is_file():
        print(f"ram_peak.py needs the real engine ({ENGINE_ENV_VAR}) and Linux /proc", file=sys.stderr)
        return 2
    files_gb = model_files_gb()
    with tempfile.TemporaryDirectory(prefix="ram-peak-") as folder:
        host, fixed, _source = node_overhead.start_host(Path(folder), real=True, sec_per_step=0.0)
        peaks: list[Peak] = []
        try:
            for tier in [t.strip() for t in args.tiers.split(",") if t.strip()]:
                peaks += measure_tier(host, fixed, files_gb, tier)
                print(table(peaks), flush=True)
        finally:
            host.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
