"""The run folder's ``validation.csv``: one validation loss per validation run, by global step.

With a validation split the engine runs a ``validation steps`` bar every
``--validate_every_n_steps`` steps and shows the running validation loss only in that bar's postfix
(``val_avg_loss=0.41``, train_network.py). The runner turns each render into a ``validation``
progress event carrying the global step and that running loss; the last loss seen for a step is
the run's result, written once the training moves on (or the phase ends).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from ..model import ProgressEvent

HEADER = ("step", "val_loss")
FILE_NAME = "validation.csv"


class ValidationLog:
    """Writes ``validation.csv``; ``keep_through`` (resuming) keeps the rows up to that global step.

    The file is only created when the first validation loss arrives, so runs without a validation
    split leave none behind.
    """

    def __init__(self, path: Path, keep_through: int | None = None) -> None:
        self.path = path
        if keep_through is None:
            path.unlink(missing_ok=True)  # a fresh run: an earlier run's rows do not belong to it
        self._rows = {
            step: loss
            for step, loss in read_validation_csv(path).items()
            if keep_through is not None and step <= keep_through
        }
        self._pending: tuple[int, float] | None = None

    def record(self, event: ProgressEvent) -> None:
        """Keep a validation event's loss; a training step after it closes that validation run."""
        moved_on = self._pending is not None and event.step != self._pending[0]
        if moved_on and event.kind in ("step", "validation"):
            self.flush()
        if event.kind == "validation" and event.loss is not None:
            self._pending = (event.step, event.loss)

    def flush(self) -> None:
        if self._pending is None:
            return
        step, loss = self._pending
        self._pending = None
        if math.isfinite(loss):
            self._rows[step] = loss
            write_validation_csv(self.path, self._rows)

    def close(self) -> None:
        self.flush()


def read_validation_csv(path: Path) -> dict[int, float]:
    if not path.is_file():
        return {}
    rows: dict[int, float] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            try:
                rows[int(row["step"])] = float(row["val_loss"])
            except (KeyError, TypeError, ValueError):
                continue
    return rows


def write_validation_csv(path: Path, rows: dict[int, float]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows((step, repr(loss)) for step, loss in sorted(rows.items()))
