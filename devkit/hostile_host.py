"""A ComfyUI host for hostile-client tests, and what those tests measure on it.

``start_hostile_host`` is the training host of ``train_host.py`` (stand-in engine, stand-in model
files, TestIdentityDataset and the sinks) plus the inert MODEL/CLIP/VAE node (``fuzz_nodes.py``)
and the checkpoint test node, with the server owner's settings file in the base folder
(``IDENTITY_LORA_SETTINGS``), rewritten with ``write_settings`` while the server runs (the pack
reads it on each use). With ``dit`` and ``ae`` the tiny FLUX set and the stand-in text encoder are
there too, so StrengthSweep can really sample.

``Responsiveness`` asks /system_stats over and over while a prompt runs and keeps each answer's
latency: a node that holds Python's lock stops ComfyUI's HTTP server, websocket and /interrupt.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
import urllib.request
from pathlib import Path

from .host import DEFAULT_PACK_NAME, Host
from .sweep_host import CHECKPOINT_NODES, STANDIN_MODULE
from .train_host import SEC_PER_STEP, TEST_NODES, prepare_base

FUZZ_NODES = "identity_lora_fuzz_nodes.py"
SETTINGS_NAME = "owner_settings.json"
FREEZE_S = 1.0  # /system_stats must answer within this while a prompt runs
# A server held by a node answers late once, for as long as it is held; the shared 2-core test
# machine under load can be late by a second or so now and then (measured up to 1.6 s). So: two
# answers in a row over FREEZE_S, or one over FREEZE_HARD_S, is a frozen server.
FREEZE_HARD_S = 2.5


def frozen(latencies: list[float]) -> bool:
    """Whether a series of /system_stats latencies shows a held server (see FREEZE_HARD_S)."""
    pairs = itertools.pairwise(latencies)
    return any(latency > FREEZE_HARD_S for latency in latencies) or any(
        min(a, b) > FREEZE_S for a, b in pairs
    )


def start_hostile_host(
    engine_root: Path,
    settings: dict | None = None,
    dit: Path | None = None,
    ae: Path | None = None,
    **env: str,
) -> Host:
    """A started host (``env`` adds or overrides variables); ``settings`` is the owner's file."""
    environment = {
        "IDENTITY_LORA_ENGINE": str(engine_root),
        "IDENTITY_LORA_FORCE_CPU": "1",
        "IDENTITY_LORA_ALLOW_UNPINNED_ENGINE": "1",
        "STAND_IN_SEC_PER_STEP": SEC_PER_STEP,
        "STAND_IN_BLOCKS": "1,1",
        **env,
    }
    names = (DEFAULT_PACK_NAME, TEST_NODES, FUZZ_NODES, CHECKPOINT_NODES, STANDIN_MODULE)
    host = Host(env=environment, extra_args=("--whitelist-custom-nodes", *names))
    host.extra_env["IDENTITY_LORA_SETTINGS"] = str(host.base_dir / SETTINGS_NAME)
    try:
        prepare_base(host.base_dir, dit)
        custom = host.base_dir / "custom_nodes"
        here = Path(__file__).resolve().parent
        os.symlink(here / "fuzz_nodes.py", custom / FUZZ_NODES)
        os.symlink(here / "checkpoint_test_nodes.py", custom / CHECKPOINT_NODES)
        os.symlink(here / "standin_flux_text_encoder.py", custom / STANDIN_MODULE)
        if ae is not None:
            (host.models_dir / "vae").mkdir(parents=True, exist_ok=True)
            os.symlink(ae, host.models_dir / "vae" / ae.name)
        write_settings(host, settings or {})
        return host.start()
    except BaseException:
        host.cleanup()
        raise


def write_settings(host: Host, settings: dict) -> None:
    """The owner's settings file of ``host`` (read by the pack on each use)."""
    (host.base_dir / SETTINGS_NAME).write_text(json.dumps(settings), encoding="utf-8")


def inert_models(node_id: str = "90") -> dict:
    return {node_id: {"class_type": "InertSamplingModels", "inputs": {}}}


def sweep_inputs(models: str = "90", **inputs) -> dict:
    """StrengthSweep's inputs on the inert models, which fail (readably) at lora_file, after every
    text input is checked and parsed."""
    return {
        "model": [models, 0], "clip": [models, 1], "vae": [models, 2], "lora_name": "(use lora_file)",
        "trigger_token": "ohwx", "class_word": "person",
        "prompts": "portrait: a photo of {token} {class_word}\ncontrol: a photo of a {class_word}",
        "strengths": "1.0", "seeds": 1, "base_seed": 0, "steps": 1, "guidance": 3.5, "sampler_name": "euler",
        "scheduler": "simple", "width": 64, "height": 64, "probe_beyond": False, **inputs,
    }  # fmt: skip


class Responsiveness:
    """While open, asks /system_stats every ``interval`` seconds and records each answer's latency.

    ``frozen``: see ``frozen()`` (an answer that never came counts as infinitely late).
    """

    def __init__(self, url: str, interval: float = 0.05) -> None:
        self.url, self.interval = url, interval
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> Responsiveness:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                with urllib.request.urlopen(self.url + "/system_stats", timeout=60) as answer:
                    answer.read()
                self.latencies.append(time.monotonic() - started)
            except OSError:
                self.latencies.append(float("inf"))
            self._stop.wait(self.interval)

    @property
    def frozen(self) -> bool:
        return frozen(self.latencies)

    @property
    def worst(self) -> float:
        return max(self.latencies, default=0.0)
