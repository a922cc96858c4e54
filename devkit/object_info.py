"""Node definitions from ``GET /object_info``, read the way ComfyUI's frontend lays out a node.

One reading for the workflow generator (``devkit/workflow_builder.py``) and the tests' workflow
check (``tests/workflows/workflow_check.py``): a node's inputs in the server's order, which of
them are widgets, and how many ``widgets_values`` each widget stores in a UI-format workflow (the
frontend adds a ``control_after_generate`` value after a seed and an upload value after an upload
widget). Whether this reading matches the real frontend is checked in headless Chromium
(``tests/workflows/test_workflows_in_browser.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Frontend-only nodes: they never reach /prompt and have no /object_info entry.
UI_ONLY_TYPES = frozenset({"Note", "MarkdownNote", "Reroute", "PrimitiveNode"})
WIDGET_TYPES = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"})
SEED_NAMES = ("seed", "noise_seed")  # INTs the frontend gives control_after_generate by default
UPLOAD_KEYS = ("image_upload", "video_upload", "audio_upload", "upload")


@dataclass(frozen=True)
class InputSpec:
    """One input of a node definition."""

    name: str
    type: Any  # a type name, or a list of combo options
    options: dict[str, Any]
    optional: bool

    @property
    def type_name(self) -> str:
        return "COMBO" if isinstance(self.type, list) else str(self.type)

    @property
    def is_widget(self) -> bool:
        return not self.options.get("forceInput") and (
            isinstance(self.type, list) or self.type in WIDGET_TYPES
        )

    @property
    def combo_options(self) -> list[Any] | None:
        if isinstance(self.type, list):
            return self.type
        return self.options.get("options") if self.type == "COMBO" else None

    @property
    def has_control_widget(self) -> bool:
        """The frontend stores one more value after this widget (control_after_generate)."""
        control = self.options.get("control_after_generate")
        if self.type_name == "INT":
            return bool(control) if control is not None else self.name in SEED_NAMES
        return bool(control) and self.type_name == "COMBO"

    @property
    def has_upload_widget(self) -> bool:
        return any(self.options.get(key) for key in UPLOAD_KEYS)

    @property
    def stored_values(self) -> int:
        """How many ``widgets_values`` this widget takes: its own and the frontend-only extras."""
        return 1 + self.has_control_widget + self.has_upload_widget


def input_specs(info: dict[str, Any]) -> list[InputSpec]:
    """Required then optional inputs, in the server's input_order (hidden inputs left out)."""
    order = info.get("input_order") or {k: list(v) for k, v in info.get("input", {}).items()}
    specs = []
    for section in ("required", "optional"):
        for name in order.get(section, []):
            raw = info["input"][section][name]
            options = raw[1] if len(raw) > 1 and isinstance(raw[1], dict) else {}
            specs.append(InputSpec(name, raw[0], options, section == "optional"))
    return specs


def frontend_inputs(info: dict[str, Any]) -> list[InputSpec]:
    """The node's input slots in the frontend's order: socket-only inputs, then widget inputs."""
    specs = input_specs(info)
    return [s for s in specs if not s.is_widget] + [s for s in specs if s.is_widget]


def output_names(info: dict[str, Any]) -> list[str]:
    """The node's output names (its output types where it names none)."""
    return list(info.get("output_name") or info["output"])
