"""benchmarks/gpu_tiers.py: its parsing and table on canned engine/nvidia-smi output, and its
fast refusal on a machine without an NVIDIA GPU (the benchmark itself needs one)."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.gpu_tiers import (
    Gpu,
    TierRow,
    bar_points,
    markdown_table,
    parse_clock,
    parse_gpu,
    parse_memory_samples,
    peak_gib,
    skip_reason,
    steady_sec_per_step,
)

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_tiers.py"


def render(n, total, elapsed, loss=2.5):
    return f"\rsteps:  {100 * n // total}%|###| {n}/{total} [{elapsed}<00:30,  1.22s/it, avr_loss={loss}]"


def clock(seconds: int) -> str:
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


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
        TierRow("24gb", "fp8 base, gradient checkpointing", 1.22, 1.23, 15.1, 15.2, 1.22, engine_ram_gb=21.4),
        TierRow("80gb", "bf16 base, no gradient checkpointing", 0.55, None, 40.8, None, 0.55),
    ]
    table = markdown_table(rows, "NVIDIA H100 80GB HBM3", 40)
    lines = table.splitlines()
    assert lines[0].startswith("GPU: NVIDIA H100 80GB HBM3")
    assert lines[4] == (
        "| 24gb | fp8 base, gradient checkpointing | 1.22 | 1.23 | +0.8% | 15.1 GB | 15.2 GB | 21.4 GB "
        "| 1.22 |  |"
    )
    assert "| n/a | n/a |" in lines[5] and lines[5].count("|") == lines[2].count("|")


def test_small_cards_skip_the_tiers_their_free_vram_is_short_of():
    gpu = parse_gpu("NVIDIA GeForce RTX 3060, 12288 MiB, 11520 MiB\n")
    assert gpu == Gpu("NVIDIA GeForce RTX 3060", 12.0, 11.25)
    assert skip_reason("12gb", gpu, force=False) == ""
    assert skip_reason("16gb", gpu, force=False) == (
        "skipped: needs 14 GiB free, 11.2 GiB free (--force runs it)"
    )
    assert skip_reason("16gb", gpu, force=True) == ""
    assert parse_gpu("Some GPU, [N/A], [N/A]") == Gpu("Some GPU", None, None)


def test_dry_run_prints_the_table_from_canned_input(tmp_path):
    """The whole path from engine output and nvidia-smi samples to the tier table (docs/bridge.md), no GPU."""
    (tmp_path / "gpu.txt").write_text("NVIDIA GeForce RTX 4080, 16376 MiB, 15290 MiB\n")
    steady = "".join(render(n, 40, clock(20 + 2 * (n - 1))) for n in range(1, 41))  # 2 s per step
    (tmp_path / "16gb.bare.log").write_text(steady)
    (tmp_path / "16gb.bridge.log").write_text(steady)
    (tmp_path / "16gb.bare.smi").write_text("500\n9000\n13500\n")
    (tmp_path / "16gb.bridge.smi").write_text("500\n13600\n")
    (tmp_path / "24gb.bare.log").write_text("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate")
    (tmp_path / "24gb.bridge.log").write_text("")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--dry-run", str(tmp_path), "--tiers", "12gb,16gb,24gb"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("GPU: NVIDIA GeForce RTX 4080 (canned input, --dry-run)")
    row_16, row_24 = lines[4], lines[5]
    assert row_16.startswith(
        "| 16gb | fp8 base, gradient checkpointing, 8 blocks swapped to CPU | 2.00 | 2.00 |"
    )
    assert "| 12.7 GB | 12.8 GB |" in row_16
    assert row_24.startswith("| 24gb |") and row_24.endswith("| out of memory |")
    assert len(lines) == 6  # no canned files for 12gb: no row


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
