"""How much RAM a process tree uses and how much the machine has available, from ``/proc`` (Linux).

psutil is not a dependency of the pack, and the engine's memory is read from outside its process,
so this reads ``/proc`` directly:

* ``available_ram_bytes``: ``MemAvailable`` of ``/proc/meminfo``, the kernel's estimate of what can
  be allocated without swapping (free memory plus reclaimable page cache);
* ``tree_memory``: the summed ``Pss`` (``/proc/<pid>/smaps_rollup``: shared pages divided among
  the processes that map them, so two workers mapping the same model file are not counted twice)
  and ``VmRSS`` of a process and its descendants;
* ``PeakSampler``: the highest of those sums over repeated samples (PSS read again only after the
  RSS grew: reading it costs the kernel a walk over every mapped page).

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
    pids = tree_pids(roots)
    rss = tree_rss(pids)
    if rss is None:
        return None
    return TreeMemory(sum(pss_bytes(pid) or 0 for pid in pids), rss[0], rss[1])


def tree_pids(roots: Iterable[int]) -> list[int]:
    """``roots`` and every process below them, once each."""
    pids: list[int] = []
    for root in roots:
        pids += [root, *descendants(root)]
    return list(dict.fromkeys(pids))


def tree_rss(pids: Iterable[int]) -> tuple[int, int] | None:
    """(summed RSS, processes read) of ``pids`` (None when none could be read)."""
    readings = [rss for rss in map(rss_bytes, pids) if rss is not None]
    return (sum(readings), len(readings)) if readings else None


# PSS is read again once the tree's RSS is this much above its size at the last PSS reading.
PSS_AFTER_GROWTH = 1.05


class PeakSampler:
    """The peak PSS and RSS of ``roots``' tree over the samples taken (``sample()`` once per check).

    RSS (``/proc/<pid>/status``, a constant cost) is read at every sample; PSS only at the first one
    and whenever the tree's RSS has grown 5% past its size at the last PSS reading. To sum PSS the
    kernel walks every page the process maps (``smaps_rollup``): measured here 0.08-0.18 s of CPU, and
    up to 1.8 s of wall on a busy machine, per read of an engine holding 2-4 GB, which every second
    took 10-20% of a core from the engine and held up the runner's loop. Memory peaks while it
    grows, so the peak PSS found is within about 5% of the one read every second.
    """

    def __init__(self, roots: Iterable[int]) -> None:
        self.roots = tuple(roots)
        self.peak_pss = 0
        self.peak_rss = 0
        self.samples = 0
        self.pss_readings = 0
        self._last_pss = 0
        self._rss_at_last_pss: int | None = None

    def sample(self) -> TreeMemory | None:
        """This moment's RSS, with the last PSS read (now, when the RSS grew enough)."""
        pids = tree_pids(self.roots)
        rss = tree_rss(pids)
        if rss is None:
            return None
        total, processes = rss
        if self._rss_at_last_pss is None or total >= self._rss_at_last_pss * PSS_AFTER_GROWTH:
            self._last_pss = sum(pss_bytes(pid) or 0 for pid in pids)
            self._rss_at_last_pss = total
            self.pss_readings += 1
        self.peak_pss = max(self.peak_pss, self._last_pss)
        self.peak_rss = max(self.peak_rss, total)
        self.samples += 1
        return TreeMemory(self._last_pss, total, processes)

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
