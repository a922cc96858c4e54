"""The random FLUX files load with the engine's own loaders: every key matched, nothing left on meta."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine
HERE = Path(__file__).parent
CLEAN = {"missing": [], "unexpected": [], "meta_tensors": []}


def test_engine_loaders_match_every_key(real_engine, tiny_flux_files):
    f = tiny_flux_files
    proc = subprocess.run(
        [real_engine.python, HERE / "engine_load_check.py", f.dit, f.ae, f.clip_l, f.t5xxl],
        cwd=real_engine.source_dir,
        capture_output=True,
        text=True,
        timeout=900,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("REPORT ")]
    assert proc.returncode == 0 and lines, (proc.stdout + proc.stderr)[-3000:]
    report = json.loads(lines[-1][len("REPORT ") :])
    assert report["dit"] == {
        "is_schnell": False,
        "double_blocks": 1,
        "single_blocks": 1,
        "dtype": "torch.float8_e4m3fn",
        **CLEAN,
    }
    assert report["ae"] == CLEAN
    assert report["clip_l"] == CLEAN
    assert report["t5xxl"] == {**CLEAN, "dtype": "torch.float8_e4m3fn"}
