"""The run folder's ``engine.log``: everything the engine printed, and its last lines for errors."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path

from .progress import STEPS_BAR_RE

TAIL_LINES = 20
_TAIL_BYTES = 65536


class EngineLog:
    """Appends engine output (as printed, ``\\r`` included) to ``path``; phases get a header line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("a", encoding="utf-8", newline="")

    def header(self, phase: str, argv: Sequence[str]) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        self._file.write(f"\n===== {stamp} phase {phase}: {len(argv)} arguments, see command.json =====\n")
        self._file.flush()

    def write(self, text: str) -> None:
        self._file.write(text)

    def note(self, text: str) -> None:
        """A line from the bridge itself (kills, timeouts), marked as such."""
        self._file.write(f"\n[bridge] {text}\n")
        self._file.flush()

    def flush(self) -> None:
        self._file.flush()

    def tail(self, lines: int = TAIL_LINES) -> list[str]:
        self._file.flush()
        return log_tail(self.path, lines)

    def close(self) -> None:
        self._file.close()


def log_tail(path: Path, lines: int = TAIL_LINES) -> list[str]:
    """The last ``lines`` lines of a log; runs of progress-bar renders count as their last render."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(size - _TAIL_BYTES, 0))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    kept: list[str] = []
    previous_was_bar = False
    for line in re.split(r"[\r\n]", text):
        line = line.rstrip()
        if not line:
            continue
        bar = STEPS_BAR_RE.match(line)
        is_bar = bar is not None and bar.end() == len(line)  # a glued log line is kept
        if is_bar and previous_was_bar:
            kept[-1] = line
        else:
            kept.append(line)
        previous_was_bar = is_bar
    return kept[-lines:]
