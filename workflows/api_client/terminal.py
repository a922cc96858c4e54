"""Live progress on the terminal: a bar per node and the training status, written whole lines at
a time when several jobs share one output."""

from __future__ import annotations

import math
import threading
from typing import Any, TextIO

from .safe_text import clean

TRAINING_EVENT = "identity_lora.progress"  # the pack's progress events (nodes/train_progress.py)


class WholeLines:
    """One output stream shared by several job threads, written a whole line at a time.

    ``print`` writes the text and its newline in two calls, so two jobs printing at once could
    run their lines together. Each thread's text is held until its line ends (or it flushes, as
    an in-place redraw does) and then written in one call under one lock.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._lock = threading.Lock()
        self._held = threading.local()

    def write(self, text: str) -> int:
        held = getattr(self._held, "text", "") + text
        lines, newline, rest = held.rpartition("\n")
        if newline:
            self._emit(lines + newline)
        self._held.text = rest
        return len(text)

    def flush(self) -> None:
        rest = getattr(self._held, "text", "")
        self._held.text = ""
        self._emit(rest)

    def isatty(self) -> bool:
        return hasattr(self.stream, "isatty") and self.stream.isatty()

    def _emit(self, text: str) -> None:
        with self._lock:
            if text:
                self.stream.write(text)
            self.stream.flush()


class ProgressPrinter:
    """Turns a prompt's ws messages into progress output: a bar per node, plus training status.

    On a terminal (``in_place``) the running node's bar is redrawn on one line, with the latest
    training step/loss/ETA beside it; otherwise (logs, pipes, several servers) it prints a
    line every 5 % so the output stays readable in a file.
    """

    def __init__(
        self, workflow: dict[str, Any], out: TextIO, label: str = "", in_place: bool = False
    ) -> None:
        self.workflow = workflow
        self.out = out
        self.label = f"[{label}] " if label else ""
        self.in_place = in_place
        self.lock = threading.Lock()
        self._last_percent: dict[str, int] = {}
        self._line_open = False
        self._bar = ""
        self._training = ""

    def _node_name(self, node_id: Any) -> str:
        node = self.workflow.get(str(node_id), {})
        title = node.get("_meta", {}).get("title") or node.get("class_type", "?")
        return f"#{node_id} {title}"

    def say(self, text: str) -> None:
        with self.lock:
            if self._line_open:
                self.out.write("\n")
                self._line_open = False
            print(f"{self.label}{clean(text)}", file=self.out, flush=True)

    def finish(self) -> None:
        """End a redrawn line, if one is open."""
        with self.lock:
            if self._line_open:
                self.out.write("\n")
                self.out.flush()
                self._line_open = False

    def _redraw(self, finished: bool) -> None:
        with self.lock:
            line = clean(" | ".join(part for part in (self._bar, self._training) if part))
            self.out.write(f"\r\033[K{self.label}{line}")
            self._line_open = not finished
            if finished:
                self.out.write("\n")
            self.out.flush()

    def __call__(self, message: dict[str, Any]) -> None:
        kind, data = message.get("type"), message.get("data") or {}
        if kind == "executing" and data.get("node") is not None:
            self._bar = self._training = ""
            self.say(f"running {self._node_name(data['node'])}")
        elif kind == "progress":
            self._progress(str(data.get("node")), int(data.get("value", 0)), int(data.get("max", 0) or 1))
        elif kind == "execution_cached" and data.get("nodes"):
            self.say(f"cached: {', '.join(self._node_name(n) for n in data['nodes'])}")
        elif kind == TRAINING_EVENT:
            self._training = format_training_event(data)
            if self.in_place:
                self._redraw(finished=False)
            else:
                self.say(self._training)

    def _progress(self, node_id: str, value: int, maximum: int) -> None:
        self._bar = f"{progress_bar(value, maximum)} {self._node_name(node_id)}"
        if self.in_place:
            self._redraw(finished=False)  # the next printed line or finish() ends it
            return
        percent = int(100 * value / maximum) if maximum else 100
        previous = self._last_percent.get(node_id, -100)
        if percent < previous:
            previous = -100  # a new run of the node
        if percent - previous < 5 and value != maximum:
            return
        self._last_percent[node_id] = percent
        self.say(self._bar)


def progress_bar(value: int, maximum: int, width: int = 24) -> str:
    fraction = min(max(value / maximum, 0.0), 1.0) if maximum else 1.0
    filled = round(fraction * width)
    return f"[{'#' * filled}{'.' * (width - filled)}] {value}/{maximum} {int(fraction * 100):3d}%"


def format_training_event(data: dict[str, Any]) -> str:
    """``identity_lora.progress`` -> "training step 40/400 loss 0.1234 ETA 3m05s" (fields optional),
    with the latest likeness of the samples scored while training when the node sends one."""
    text = _training_line(data)
    likeness = data.get("likeness")
    if isinstance(likeness, dict) and isinstance(likeness.get("value"), (int, float)):
        text += f" | likeness {likeness['value']:.3f} at step {likeness.get('step', '?')}"
    return text


def _training_line(data: dict[str, Any]) -> str:
    step = data.get("step")
    total = data.get("total_steps", data.get("max_steps", data.get("total")))
    parts = ["training"]
    if data.get("phase"):
        parts.append(f"({data['phase']})")
    if step is not None:
        parts.append(f"step {step}/{total}" if total else f"step {step}")
    loss = data.get("loss", data.get("avr_loss"))
    if isinstance(loss, (int, float)) and math.isfinite(loss):
        parts.append(f"loss {loss:.4f}")
    eta = data.get("eta_s", data.get("eta"))
    if isinstance(eta, (int, float)) and math.isfinite(eta):
        parts.append(f"ETA {int(eta) // 60}m{int(eta) % 60:02d}s")
    if data.get("message"):
        parts.append(str(data["message"]))
    return " ".join(parts)
