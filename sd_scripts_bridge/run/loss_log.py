"""The run folder's ``loss.csv``: one row per optimizer step (global step over all phases).

A step is rendered more than once by tqdm and only its last render carries that step's
``avr_loss``, so a row is written when the next step starts (or when the phase ends).
Rows are flushed as they are written so the file can be read while training runs.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ..model import ProgressEvent

HEADER = ("step", "loss", "sec_per_step", "phase")


class LossLog:
    """Writes ``loss.csv``; ``keep_through`` (resuming) keeps the rows up to that global step.

    Rows after the resumed step belong to steps the engine trains again, so they are dropped
    instead of appearing twice.
    """

    def __init__(self, path: Path, keep_through: int | None = None) -> None:
        self.path = path
        kept = _rows_through(path, keep_through) if keep_through is not None else []
        self._file = path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self._writer.writerow(HEADER)
        self._writer.writerows(kept)
        self._file.flush()
        self._pending: ProgressEvent | None = None

    def record(self, event: ProgressEvent) -> None:
        if event.kind != "step" or event.loss is None:
            return
        if self._pending is not None and self._pending.step != event.step:
            self._write(self._pending)
        self._pending = event

    def flush_step(self) -> None:
        """Write the step in progress (call at the end of a phase)."""
        if self._pending is not None:
            self._write(self._pending)
            self._pending = None

    def close(self) -> None:
        self.flush_step()
        self._file.close()

    def _write(self, event: ProgressEvent) -> None:
        sec = "" if event.sec_per_step is None else f"{event.sec_per_step:.4g}"
        self._writer.writerow((event.step, repr(event.loss), sec, event.phase))
        self._file.flush()

    def __enter__(self) -> LossLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_loss_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _rows_through(path: Path, step: int) -> list[list[str]]:
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    return [row for row in rows if row and row[0].isdigit() and int(row[0]) <= step]
