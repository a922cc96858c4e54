"""One line of text per progress event, the same in the node, the CLI and the API client's view.

``train: step 120/1500, loss 0.4213, 1.22 s/step, ETA 28m04s``; events that are not steps add
their message (``train: step 250/1500, saved identity-step00000250.safetensors``).
"""

from __future__ import annotations

from ..model import ProgressEvent


def progress_line(event: ProgressEvent) -> str:
    parts = [f"{event.phase}: step {event.step}/{event.total}"]
    if event.loss is not None and event.kind == "step":
        parts.append(f"loss {event.loss:.4f}")
    if event.sec_per_step is not None:
        parts.append(f"{event.sec_per_step:.2f} s/step")
    if event.eta_seconds is not None:
        parts.append(f"ETA {format_duration(event.eta_seconds)}")
    if event.message:
        parts.append(event.message)
    return ", ".join(parts)


def format_duration(seconds: float) -> str:
    """``28m04s``; an hour or more as ``1h05m``."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    if hours:
        return f"{hours}h{rest // 60:02d}m"
    return f"{rest // 60}m{rest % 60:02d}s"


def worth_showing(event: ProgressEvent) -> bool:
    """Whether a line for this event tells a person something (every render of a validation bar
    and the loss-less first render of a step do not)."""
    if event.kind == "validation":
        return False
    return event.kind != "step" or event.loss is not None
