"""Parse the engine's console output into progress events, incrementally.

sd-scripts writes its tqdm ``steps`` bar to stderr as ``\\r``-separated renders, e.g.
``steps:  25%|██▌       | 1/4 [00:06<00:18,  6.20s/it, avr_loss=2.65]``; rich log lines can be
glued onto a render, ``avr_loss`` can be ``nan``/``inf``, and the first render after a step still
shows the previous loss (``set_postfix`` runs after ``update``), so the last render of a step wins.
Checkpoint saves are ``saving checkpoint: <abs path>`` lines on stdout. When resuming with
``--skip_until_initial_step`` the bar counts only the remaining steps, so the global step is the
resumed step plus the bar count (see ``/work/shared/notes/sd_scripts.md`` §4).

:class:`StreamParser` turns raw text chunks of one stream into parsed items;
:class:`ProgressTracker` turns those into :class:`~sd_scripts_bridge.model.ProgressEvent` values
numbered over all phases of a plan.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from ..model import ProgressEvent

_BAR_BODY = r":\s+\d+%\|[^|]*\|\s*(?P<n>\d+)/(?P<total>\d+)\s*\[(?P<inside>[^\]]*)\]"
STEPS_BAR_RE = re.compile(r"(?<!validation )(?<![\w])steps" + _BAR_BODY)
VALIDATION_BAR_RE = re.compile(r"validation steps" + _BAR_BODY)
RATE_RE = re.compile(r"(?P<value>[0-9.]+)(?P<unit>s/it|it/s)")
LOSS_RE = re.compile(r"avr_loss=(?P<loss>[-+]?(?:nan|inf|[0-9.]+(?:[eE][-+]?\d+)?))")
# The validation bar's postfix (train_network.py): val_avg_loss per step validation, val_epoch_avg_loss
# per epoch validation; nothing else prints the validation loss.
VAL_LOSS_RE = re.compile(r"val(?:_epoch)?_avg_loss=(?P<loss>[-+]?(?:nan|inf|[0-9.]+(?:[eE][-+]?\d+)?))")
SAVED_RE = re.compile(r"saving checkpoint: (?P<path>.+?\.(?:safetensors|ckpt|pt))(?=\s|$)")
OUT_OF_MEMORY_RE = re.compile(
    r"CUDA out of memory|OutOfMemoryError|CUDA error: out of memory|HIP out of memory|"
    r"MPS backend out of memory"
)
_MAX_PENDING_CHARS = 65536


@dataclass(frozen=True)
class BarUpdate:
    """One render of the training ``steps`` bar (counts as printed, i.e. per engine run)."""

    n: int
    total: int
    loss: float | None
    sec_per_step: float | None


@dataclass(frozen=True)
class ValidationUpdate:
    n: int
    total: int
    loss: float | None = None  # the running validation loss of this run so far


@dataclass(frozen=True)
class CheckpointSaved:
    path: Path


@dataclass(frozen=True)
class OutOfMemory:
    line: str


ParsedItem = BarUpdate | ValidationUpdate | CheckpointSaved | OutOfMemory


def parse_sec_per_step(text: str) -> float | None:
    """``'6.20s/it'`` -> 6.2, ``'8.30it/s'`` -> 0.1205, ``'?it/s'`` -> None."""
    match = RATE_RE.search(text)
    if not match:
        return None
    value = float(match.group("value"))
    if match.group("unit") == "s/it":
        return value
    return 1.0 / value if value > 0 else None


def parse_piece(piece: str) -> list[ParsedItem]:
    """Everything recognisable in one ``\\r``/``\\n``-delimited piece of output."""
    items: list[ParsedItem] = []
    for match in STEPS_BAR_RE.finditer(piece):
        inside = match.group("inside")
        loss_match = LOSS_RE.search(inside)
        rate_text = inside.split(",")[1] if "," in inside else ""
        items.append(
            BarUpdate(
                n=int(match.group("n")),
                total=int(match.group("total")),
                loss=float(loss_match.group("loss")) if loss_match else None,
                sec_per_step=parse_sec_per_step(rate_text),
            )
        )
    for match in VALIDATION_BAR_RE.finditer(piece):
        loss_match = VAL_LOSS_RE.search(match.group("inside"))
        loss = float(loss_match.group("loss")) if loss_match else None
        items.append(ValidationUpdate(n=int(match.group("n")), total=int(match.group("total")), loss=loss))
    for match in SAVED_RE.finditer(piece):
        items.append(CheckpointSaved(Path(match.group("path").strip())))
    if OUT_OF_MEMORY_RE.search(piece):
        items.append(OutOfMemory(piece.strip()))
    return items


class StreamParser:
    """Incremental parser for one output stream (feed it chunks as they arrive).

    Complete pieces (ended by ``\\r`` or ``\\n``) are parsed once. tqdm starts each render with
    ``\\r`` and does not end it, so the unterminated tail is parsed for bar renders right away (and
    again, for everything, once it is terminated); a render equal to the previous one is dropped,
    so each render is reported once.
    """

    def __init__(self) -> None:
        self._pending = ""
        self._last_bar: BarUpdate | None = None

    def feed(self, text: str) -> list[ParsedItem]:
        pieces = re.split(r"[\r\n]", self._pending + text)
        self._pending = pieces.pop()[-_MAX_PENDING_CHARS:]
        items: list[ParsedItem] = []
        for piece in pieces:
            items.extend(self._dedupe(parse_piece(piece)))
        tail_bars = [item for item in parse_piece(self._pending) if isinstance(item, BarUpdate)]
        items.extend(self._dedupe(tail_bars))
        return items

    def close(self) -> list[ParsedItem]:
        """Parse whatever is left when the stream ends."""
        rest, self._pending = self._pending, ""
        return self._dedupe(parse_piece(rest))

    def _dedupe(self, items: list[ParsedItem]) -> list[ParsedItem]:
        kept: list[ParsedItem] = []
        for item in items:
            if isinstance(item, BarUpdate):
                if item == self._last_bar:
                    continue
                self._last_bar = item
            kept.append(item)
        return kept


class ProgressTracker:
    """Numbers one phase's bar renders over the whole plan and makes :class:`ProgressEvent` values.

    ``steps_before`` counts the steps of earlier phases; ``initial_step`` is the step a resumed
    run starts from (the bar then counts only the remaining steps); ``total`` is the plan's total.
    ``validate_every`` is the phase's ``--validate_every_n_steps``: the engine validates only at
    those phase steps, so a validation run is credited to the next one (tqdm may not have printed
    the steps bar's last update yet: it redraws at most every 0.1 s).
    """

    def __init__(
        self,
        phase: str,
        total: int,
        steps_before: int = 0,
        initial_step: int = 0,
        validate_every: int | None = None,
    ) -> None:
        self.phase = phase
        self.total = total
        self.steps_before = steps_before
        self.initial_step = initial_step
        self.validate_every = validate_every
        self.global_step = steps_before + initial_step
        self.last_loss: float | None = None
        self.out_of_memory_line: str | None = None
        self.first_bad_loss_step: int | None = None

    def events(self, items: list[ParsedItem]) -> list[ProgressEvent]:
        return [event for item in items if (event := self._event(item)) is not None]

    def _event(self, item: ParsedItem) -> ProgressEvent | None:
        if isinstance(item, BarUpdate):
            return self._step_event(item)
        return self._other_event(item)

    def _other_event(self, item: ParsedItem) -> ProgressEvent | None:
        if isinstance(item, CheckpointSaved):  # the engine starts writing it: a log line only (the
            # runner's ``checkpoint`` event comes once the file is whole, see watch.py)
            return ProgressEvent(
                kind="log",
                phase=self.phase,
                step=self.global_step,
                total=self.total,
                path=item.path,
                message=f"saving {item.path.name}",
            )
        if isinstance(item, ValidationUpdate):
            return ProgressEvent(
                kind="validation",
                phase=self.phase,
                step=self._validation_step(),
                total=self.total,
                loss=item.loss,
                message=f"validation {item.n}/{item.total}",
            )
        if self.out_of_memory_line is None:
            self.out_of_memory_line = item.line
            return ProgressEvent(
                kind="log", phase=self.phase, step=self.global_step, total=self.total, message=item.line
            )
        return None

    def _validation_step(self) -> int:
        if not self.validate_every:
            return self.global_step
        phase_step = self.global_step - self.steps_before
        validated = -(-phase_step // self.validate_every) * self.validate_every
        return self.steps_before + validated

    def _step_event(self, bar: BarUpdate) -> ProgressEvent | None:
        """A step event for each render that carries a loss; the ``0/N`` render and the loss-less
        first render of step 1 only move the counter (the phase event reported the start)."""
        self.global_step = self.steps_before + self.initial_step + bar.n
        if bar.loss is None or bar.n == 0:
            return None
        self.last_loss = bar.loss
        if not math.isfinite(bar.loss) and self.first_bad_loss_step is None:
            self.first_bad_loss_step = self.global_step
        eta = None
        if bar.sec_per_step is not None:
            eta = max(self.total - self.global_step, 0) * bar.sec_per_step
        return ProgressEvent(
            kind="step",
            phase=self.phase,
            step=self.global_step,
            total=self.total,
            loss=bar.loss,
            sec_per_step=bar.sec_per_step,
            eta_seconds=eta,
        )
