"""How much RAM a process tree uses and how much the machine has available, from ``/proc`` (Linux).

psutil is not a dependency of the pack, and the engine's memory is read from outside its process,
so this reads ``/proc`` directly:

* ``available_ram_bytes``: ``MemAvailable`` of ``/proc/meminfo``, the kernel's estimate of what can
  be allocated without swapping (free memory plus reclaimable page cache);
* ``tree_memory``: the summed ``Pss`` (``/proc/<pid>/smaps_rollup``: shared pages divided among
  the processes that map them, so two workers mapping the same model file are not counted twice)
  and ``VmRSS`` of a process and its descendants;
* ``PeakSampler``: the highest of those sums over repeated samples.

Where ``/proc`` is missing (Windows, macOS) every reading is None: the RAM preflight then says it
could not measure, instead of guessing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .process_tree import PROC, descendants

KIB = 1024


def available_ram_bytes(meminfo: Path = PROC / "meminfo") -> int | None:
    """``MemAvailable`` in bytes (None without ``/proc``)."""
    return _kib_field(meminfo, "MemAvailable:")


def total_ram_bytes(meminfo: Path = PROC / "meminfo") -> int | None:
    return _kib_field(meminfo, "MemTotal:")


def rss_bytes(pid: int) -> int | None:
    return _kib_field(PROC / str(pid) / "status", "VmRSS:")


def pss_bytes(pid: int) -> int | None:
    """Proportional set size; falls back to RSS on kernels without ``smaps_rollup``."""
    pss = _kib_field(PROC / str(pid) / "smaps_rollup", "Pss:")
    return pss if pss is not None else rss_bytes(pid)


@dataclass(frozen=True)
class TreeMemory:
    pss: int  # bytes, shared pages divided among the processes
    rss: int  # bytes, shared pages counted in every process
    processes: int


def tree_memory(roots: Iterable[int]) -> TreeMemory | None:
    """Memory of ``roots`` and everything below them (None when nothing could be read)."""
    pids: list[int] = []
    for root in roots:
        pids += [root, *descendants(root)]
    pss = rss = counted = 0
    for pid in dict.fromkeys(pids):
        rss_now = rss_bytes(pid)
        if rss_now is None:
            continue
        rss += rss_now
        pss += pss_bytes(pid) or 0
        counted += 1
    return TreeMemory(pss, rss, counted) if counted else None


class PeakSampler:
    """The peak of ``tree_memory(roots)`` over the samples taken (``sample()`` once per check)."""

    def __init__(self, roots: Iterable[int]) -> None:
        self.roots = tuple(roots)
        self.peak_pss = 0
        self.peak_rss = 0
        self.samples = 0

    def sample(self) -> TreeMemory | None:
        memory = tree_memory(self.roots)
        if memory is not None:
            self.peak_pss = max(self.peak_pss, memory.pss)
            self.peak_rss = max(self.peak_rss, memory.rss)
            self.samples += 1
        return memory

    @property
    def measured(self) -> bool:
        return self.samples > 0


def gib(size_bytes: float) -> float:
    return size_bytes / 2**30


def gb(size_bytes: float) -> float:
    return size_bytes / 1e9


def _kib_field(path: Path, name: str) -> int | None:
    try:
        text = path.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(name):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                return int(parts[1]) * KIB
    return None
