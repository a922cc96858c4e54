"""benchmarks/gpu_tiers.py: its parsing and table on canned engine/nvidia-smi output, and its
fast refusal on a machine without an NVIDIA GPU (the benchmark itself needs one)."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.gpu_tiers import (
    TierRow,
    bar_points,
    markdown_table,
    parse_clock,
    parse_memory_samples,
    peak_gib,
    steady_sec_per_step,
)

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_tiers.py"


def render(n, total, elapsed, loss=2.5):
    return f"\rsteps:  {100 * n // total}%|###| {n}/{total} [{elapsed}<00:30,  1.22s/it, avr_loss={loss}]"


def test_clock_and_bar_points_keep_the_last_render_of_each_step():
    assert parse_clock("01:05") == 65 and parse_clock("1:00:02") == 3602
    text = (
        render(1, 40, "00:09") + render(1, 40, "00:09", 2.4) + "\n2026 INFO saving\n" + render(2, 40, "00:10")
    )
    text += "\rvalidation steps: 50%|#| 2/4 [00:11<00:01, 2.0it/s]"
    assert bar_points(text) == [(1, 9.0), (2, 10.0)]


def test_steady_rate_leaves_out_the_warmup_steps():
    # step 1 takes 20 s (start-up), then 1.25 s per step
    text = "".join(render(n, 40, f"00:{20 + round((n - 1) * 1.25):02d}") for n in range(1, 33))
    assert steady_sec_per_step(text, warmup=5) == pytest.approx(1.25, abs=0.04)
    assert steady_sec_per_step(render(1, 40, "00:20"), warmup=5) is None


def test_memory_samples_and_peak():
    samples = parse_memory_samples("1200\n15433\n\nNot Supported\n15800, 81559\n")
    assert samples == [1200.0, 15433.0, 15800.0]
    assert peak_gib(samples, baseline_mib=1200) == pytest.approx((15800 - 1200) / 1024)
    assert peak_gib([], 0) is None


def test_markdown_table_names_the_gpu_and_the_overhead():
    rows = [
        TierRow("24gb", "fp8 base, gradient checkpointing", 1.22, 1.23, 15.1, 15.2, 1.22),
        TierRow("80gb", "bf16 base, no gradient checkpointing", 0.55, None, 40.8, None, 0.55),
    ]
    table = markdown_table(rows, "NVIDIA H100 80GB HBM3", 40)
    lines = table.splitlines()
    assert lines[0].startswith("GPU: NVIDIA H100 80GB HBM3")
    assert lines[4] == (
        "| 24gb | fp8 base, gradient checkpointing | 1.22 | 1.23 | +0.8% | 15.1 GB | 15.2 GB | 1.22 |"
    )
    assert "| n/a | n/a |" in lines[5] and lines[5].count("|") == lines[2].count("|")


def test_without_a_gpu_it_stops_at_once_with_the_reason(tmp_path):
    # An empty PATH hides nvidia-smi, as on a machine without an NVIDIA driver.
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--workdir", str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": str(tmp_path)},
    )
    assert done.returncode == 2, done.stderr
    assert "needs an NVIDIA GPU" in done.stderr and "nvidia-smi was not found" in done.stderr
    assert time.monotonic() - started < 30
    assert not (tmp_path / "runs").exists(), "nothing is generated before the GPU check"
