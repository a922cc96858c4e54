"""RAM readings from /proc: MemAvailable, and the PSS/RSS of a process tree at its peak."""

from __future__ import annotations

import subprocess
import sys
import time

from sd_scripts_bridge.engine.process_memory import (
    PeakSampler,
    available_ram_bytes,
    total_ram_bytes,
    tree_memory,
)

HOLD_200_MB = "import sys, time; block = bytearray(200 * 2**20); print('ready', flush=True); time.sleep(60)"


def test_available_ram_comes_from_meminfo(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   20971520 kB\n")
    assert available_ram_bytes(meminfo) == 20971520 * 1024 and total_ram_bytes(meminfo) == 24000000 * 1024
    assert available_ram_bytes(tmp_path / "missing") is None  # no /proc: not measured, not guessed
    assert 0 < available_ram_bytes() < total_ram_bytes()


def test_a_tree_counts_its_children_and_the_sampler_keeps_the_peak():
    child = subprocess.Popen([sys.executable, "-c", HOLD_200_MB], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        sampler = PeakSampler([child.pid])
        memory = sampler.sample()
        assert memory.processes == 1 and memory.rss >= 200 * 2**20 and memory.pss >= 150 * 2**20
        assert sampler.measured and sampler.peak_rss == memory.rss
    finally:
        child.kill()
        child.wait()
    time.sleep(0.1)
    assert tree_memory([child.pid]) is None and sampler.sample() is None and sampler.peak_rss == memory.rss
