"""The training job's progress, relayed to ComfyUI: progress bar, node text, ws events, previews.

Every progress event of ``sd_scripts_bridge.job.run_job`` moves the progress bar (steps over all
phases; a resumed run starts where it stopped), and each one worth a line goes out as an
``identity_lora.progress`` websocket event and as the node's live text (the same line the CLI
prints), both to the client that queued the prompt only; the event carries its ``prompt_id``.
A ``sample`` event's image becomes the progress preview. Once the live likeness of a checkpoint
is known (``train_likeness.py``), every later event carries it (the API client prints it beside
step and loss), and the likeness chart becomes the preview.
"""

from __future__ import annotations

from typing import Any

from ..sd_scripts_bridge.model import EARLIER_SAMPLE_PREFIX, ProgressEvent
from ..sd_scripts_bridge.run.progress_text import progress_line, worth_showing
from .comfy_glue.events import current_prompt, send_event, send_node_text
from .comfy_glue.progress import progress_bar

PROGRESS_EVENT = "identity_lora.progress"
PREVIEW_SIZE = 512


class TrainingProgress:
    """``on_event`` for the job, bound to one node of one prompt."""

    def __init__(self, node_id: str | None) -> None:
        self.node_id = node_id
        self.prompt = current_prompt()  # (prompt id, client id): events go to that client only
        self.bar: Any = None
        self.likeness: dict[str, Any] | None = None  # {"value", "step"} of the newest scored checkpoint
        self.last_step = (0, 0)  # (step, total) of the bar

    def __call__(self, event: ProgressEvent) -> None:
        if event.total and not event.message.startswith(EARLIER_SAMPLE_PREFIX):
            self._move_bar(event)
        if worth_showing(event):
            send_event(PROGRESS_EVENT, self._event_data(event), self.prompt)
            send_node_text(self.node_id, progress_line(event) + self._likeness_text(), self.prompt[1])

    def say(self, text: str) -> None:
        """A line of the node's own (not from the engine)."""
        data = {"node": self.node_id, "kind": "log", "message": text, "likeness": self.likeness}
        send_event(PROGRESS_EVENT, data, self.prompt)
        send_node_text(self.node_id, text, self.prompt[1])

    def show_likeness(self, step: int, value: float | None, chart) -> None:
        """A checkpoint's likeness: a line, a ws event with the value, the chart as the preview."""
        self.likeness = {"value": value, "step": step} if value is not None else self.likeness
        shown = f"{value:.3f}" if value is not None else "no face in its samples"
        self.say(f"likeness at step {step}: {shown}")
        if self.bar is not None and chart is not None:
            from PIL import Image

            step_now, total = self.last_step
            self.bar.update_absolute(step_now, total, ("PNG", Image.fromarray(chart), PREVIEW_SIZE * 2))

    def _likeness_text(self) -> str:
        if self.likeness is None:
            return ""
        return f" | likeness {self.likeness['value']:.3f} at step {self.likeness['step']}"

    def _move_bar(self, event: ProgressEvent) -> None:
        if self.bar is None:
            self.bar = progress_bar(event.total)
        preview = _preview(event) if event.kind == "sample" and self.likeness is None else None
        self.last_step = (event.step, event.total)
        self.bar.update_absolute(event.step, event.total, preview)

    def _event_data(self, event: ProgressEvent) -> dict[str, Any]:
        return {
            "node": self.node_id,
            "phase": event.phase,
            "kind": event.kind,
            "step": event.step,
            "total_steps": event.total,
            "loss": event.loss,
            "sec_per_step": event.sec_per_step,
            "eta_s": event.eta_seconds,
            "message": event.message,
            "likeness": self.likeness,
        }


def _preview(event: ProgressEvent):
    """The sample image as a progress preview (ComfyUI's ("PNG", image, max size) form)."""
    from PIL import Image

    try:
        with Image.open(event.path) as image:
            return ("PNG", image.convert("RGB"), PREVIEW_SIZE)
    except OSError:
        return None
