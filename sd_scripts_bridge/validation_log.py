"""Validation losses from the engine's console output, and the run folder's ``validation.csv``.

With a validation split the engine runs a ``validation steps`` tqdm bar every
``--validate_every_n_steps`` steps and shows the running validation loss only in that bar's
postfix (``val_avg_loss=0.41``, train_network.py); nothing else prints it. The runner reports
each validation run as ``validation`` progress events carrying the global step; this module
reads the losses from the log text written meanwhile, one per validation run (its last render),
and pairs them with those steps in order.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from .progress import STEPS_BAR_RE, VALIDATION_BAR_RE

VAL_LOSS_RE = re.compile(r"val(?:_epoch)?_avg_loss=(?P<loss>[-+]?(?:nan|inf|[0-9.]+(?:[eE][-+]?\d+)?))")
HEADER = ("step", "val_loss")
FILE_NAME = "validation.csv"


def validation_losses(text: str) -> list[float]:
    """The last ``val_avg_loss`` of each validation run in ``text`` (engine output, ``\\r`` included).

    A run ends when a training ``steps`` render follows it or its counter starts again.
    """
    losses: list[float] = []
    current: float | None = None
    last_n = -1
    for piece in re.split(r"[\r\n]", text):
        bar = VALIDATION_BAR_RE.search(piece)
        if bar is None:
            if current is not None and STEPS_BAR_RE.search(piece):
                losses.append(current)
                current, last_n = None, -1
            continue
        n = int(bar.group("n"))
        if current is not None and n < last_n:
            losses.append(current)
            current = None
        last_n = n
        loss = VAL_LOSS_RE.search(bar.group(0))
        if loss is not None:
            current = float(loss.group("loss"))
    if current is not None:
        losses.append(current)
    return losses


def pair_with_steps(steps: Sequence[int], losses: Sequence[float]) -> list[tuple[int, float]]:
    """Validation steps (one per run, in order) with the losses read from the log."""
    return [(step, loss) for step, loss in zip(steps, losses, strict=False) if math.isfinite(loss)]


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


def write_validation_csv(path: Path, points: Iterable[tuple[int, float]], keep_through: int | None) -> None:
    """Merge ``points`` into ``path``; rows after ``keep_through`` (a resumed step) are replaced."""
    rows = {
        step: loss
        for step, loss in read_validation_csv(path).items()
        if keep_through is None or step <= keep_through
    }
    rows.update(dict(points))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows((step, repr(loss)) for step, loss in sorted(rows.items()))
