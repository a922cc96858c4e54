"""Following a training run: its sample images scored as they appear, its loss, its early stop.

The training node relays the engine's progress events here. A ``sample`` event names the global
step and the prompt index of an image the engine just wrote; a ``step`` event carries the running
loss. Once every identity prompt of a step is scored, the step's likeness point is complete: the
node shows it, and the early-stop rule looks at the complete points.

The early stop is the evaluation protocol's overfit signal ("loss still dropping, visuals not
improving", docs/profiles.md, "Evaluation protocol") used as the failure table's sameface remedy
("early stop"): ``patience`` points in a
row that do not beat the best earlier likeness by more than the margin while the loss fell. The
checkpoint kept is the best one (within the margin, the earliest) among the steps that have a
checkpoint file.

Events are read by their fields only (``kind``, ``step``, ``loss``, ``path``, ``sample_index``),
so this module does not depend on the training bridge.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint_pick import pick_checkpoints
from .checkpoints import EarlyStop
from .likeness_curve import LikenessCurve, LikenessPoint, Plateau, PlateauRule
from .live_likeness import LiveLikeness

LIKENESS_FILE = "likeness.json"  # in the run folder, beside loss.csv


@dataclass(frozen=True)
class LikenessUpdate:
    """A step whose identity samples are all scored."""

    step: int
    likeness: float | None  # None: no sample of this step showed a face
    point: LikenessPoint


class LikenessMonitor:
    """Scores a run's sample images into its likeness curve and decides the early stop."""

    def __init__(
        self,
        live: LiveLikeness,
        checkpoint_every: int,
        loss_window: int,
        margin: float,
        stop_patience: int | None = None,
    ) -> None:
        """``stop_patience`` None: no early stop (the curve is still measured)."""
        self.live = live
        self.checkpoint_every = checkpoint_every
        self.total_steps = 0  # from the events: the last step leaves a LoRA file too
        self.loss_window = max(int(loss_window), 1)
        self.margin = margin
        self.stop_rule = PlateauRule(stop_patience, margin) if stop_patience else None
        self.losses: dict[int, float] = {}
        self.complete: set[int] = set()
        self.stop: EarlyStop | None = None
        self.plateau: Plateau | None = None
        self.about: dict[str, Any] = {}  # the backend and its thresholds, saved with the curve

    @property
    def curve(self) -> LikenessCurve:
        return self.live.curve

    def has_checkpoint(self, step: int) -> bool:
        every = self.checkpoint_every
        return (every > 0 and step % every == 0) or step == self.total_steps

    def observe(self, event: Any) -> LikenessUpdate | None:
        """Take one progress event; return the step it completed, if any."""
        self.total_steps = max(self.total_steps, int(getattr(event, "total", 0) or 0))
        if event.kind == "step" and event.loss is not None and np.isfinite(event.loss):
            self.losses[int(event.step)] = float(event.loss)
            return None
        index = getattr(event, "sample_index", None)
        if event.kind != "sample" or index is None or event.path is None:
            return None
        image = _read_rgb(Path(event.path))
        if image is None or self.live.add_sample(int(event.step), int(index), image) is None:
            return None
        return self._completed(int(event.step))

    def _completed(self, step: int) -> LikenessUpdate | None:
        if not self.live.is_complete(step):
            return None
        self.complete.add(step)
        self.curve.attach_losses(sorted(self.losses.items()), self.loss_window)
        point = self.curve.point(step)
        if self.stop is None and self.stop_rule is not None:
            self.stop = self._early_stop()
        return LikenessUpdate(step, point.likeness, point)

    def _early_stop(self) -> EarlyStop | None:
        points = [p for p in self.curve.points if p.step in self.complete]
        plateau = self.stop_rule.find(points)
        if plateau is None:
            return None
        kept = self.best_checkpoint(upto=plateau.seen_at)
        if kept is None:
            return None
        self.plateau = plateau
        return EarlyStop(plateau.seen_at, kept, plateau.describe())

    def best_checkpoint(self, upto: int | None = None) -> int | None:
        """The best complete point with a checkpoint file (earliest within the margin, copies set
        aside: ``checkpoint_pick``); None before any point is complete."""
        steps = [s for s in self.complete if self.has_checkpoint(s) and (upto is None or s <= upto)]
        if not steps:
            return None
        return pick_checkpoints(self.curve, self.margin, steps).best

    def latest(self) -> LikenessUpdate | None:
        """The newest complete step (what the live display shows)."""
        if not self.complete:
            return None
        step = max(self.complete)
        point = self.curve.point(step)
        return LikenessUpdate(step, point.likeness, point)

    def save(self, run_dir: Path) -> Path:
        """``likeness.json`` in the run folder, written atomically."""
        path = Path(run_dir) / LIKENESS_FILE
        record = {
            "points": self.curve.to_dict(),
            "complete_steps": sorted(self.complete),
            "early_stop": None if self.stop is None else vars(self.stop),
            "about": self.about,
        }
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        partial.write_text(json.dumps(record, indent=2), encoding="utf-8")
        os.replace(partial, path)
        return path


@dataclass(frozen=True)
class SavedLikeness:
    curve: LikenessCurve
    about: dict[str, Any]  # backend, same_person, likeness_target, margin


def read_likeness(run_dir: Path) -> SavedLikeness | None:
    """The curve a monitor saved in ``run_dir`` (None: none saved, or unreadable)."""
    try:
        record = json.loads((Path(run_dir) / LIKENESS_FILE).read_text(encoding="utf-8"))
        complete = set(record.get("complete_steps", []))
        points = [p for p in record.get("points", []) if isinstance(p, dict) and p.get("step") in complete]
        about = record.get("about") if isinstance(record.get("about"), dict) else {}
    except (OSError, ValueError, AttributeError, TypeError):
        return None
    curve = LikenessCurve.from_dict(points)
    curve.measured_by = str(about.get("backend", ""))
    return SavedLikeness(curve, about) if curve.points else None


def _read_rgb(path: Path) -> np.ndarray | None:
    from PIL import Image

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except OSError:
        return None
