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


GROW_ON_REQUEST = (
    "import sys\n"
    "blocks = []\n"
    "for line in sys.stdin:\n"
    "    blocks.append(bytearray(int(line) * 2**20))\n"
    "    print('ready', flush=True)\n"
)


def test_pss_is_read_again_only_after_the_tree_grew():
    """Summing PSS makes the kernel walk every mapped page: the sampler reads it at the first sample and
    after 5% of RSS growth, not at every sample."""
    child = subprocess.Popen(
        [sys.executable, "-c", GROW_ON_REQUEST], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )

    def grow(mib: int) -> None:
        child.stdin.write(f"{mib}\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "ready"

    try:
        grow(200)
        sampler = PeakSampler([child.pid])
        first = sampler.sample()
        assert sampler.pss_readings == 1 and first.pss >= 150 * 2**20
        grow(2)  # about 1% more: RSS read, PSS not
        second = sampler.sample()
        assert sampler.pss_readings == 1 and second.rss > first.rss and second.pss == first.pss
        grow(100)  # half as much again: PSS read
        third = sampler.sample()
        assert sampler.pss_readings == 2 and third.pss >= first.pss + 80 * 2**20
        assert (sampler.peak_pss, sampler.peak_rss, sampler.samples) == (third.pss, third.rss, 3)
    finally:
        child.kill()
        child.wait()
