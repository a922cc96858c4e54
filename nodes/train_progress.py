"""The training job's progress, relayed to ComfyUI: progress bar, node text, ws events, previews.

Every progress event of ``sd_scripts_bridge.job.run_job`` moves the progress bar (steps over all
phases; a resumed run starts where it stopped), and each one worth a line goes out as an
``identity_lora.progress`` websocket event and as the node's live text (the same line the CLI
prints). A ``sample`` event's image becomes the progress preview.
"""

from __future__ import annotations

from typing import Any

from ..sd_scripts_bridge.model import ProgressEvent
from ..sd_scripts_bridge.progress_text import progress_line, worth_showing
from . import comfy_glue

PROGRESS_EVENT = "identity_lora.progress"
PREVIEW_SIZE = 512


class TrainingProgress:
    """``on_event`` for the job, bound to one node of one prompt."""

    def __init__(self, node_id: str | None) -> None:
        self.node_id = node_id
        self.bar: Any = None

    def __call__(self, event: ProgressEvent) -> None:
        if event.total:
            self._move_bar(event)
        if worth_showing(event):
            comfy_glue.send_event(PROGRESS_EVENT, self._event_data(event))
            comfy_glue.send_node_text(self.node_id, progress_line(event))

    def say(self, text: str) -> None:
        """A line of the node's own (not from the engine)."""
        comfy_glue.send_event(PROGRESS_EVENT, {"node": self.node_id, "kind": "log", "message": text})
        comfy_glue.send_node_text(self.node_id, text)

    def _move_bar(self, event: ProgressEvent) -> None:
        if self.bar is None:
            self.bar = comfy_glue.progress_bar(event.total)
        preview = _preview(event) if event.kind == "sample" else None
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
        }


def _preview(event: ProgressEvent):
    """The sample image as a progress preview (ComfyUI's ("PNG", image, max size) form)."""
    from PIL import Image

    try:
        with Image.open(event.path) as image:
            return ("PNG", image.convert("RGB"), PREVIEW_SIZE)
    except OSError:
        return None
