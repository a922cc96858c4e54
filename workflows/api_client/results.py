"""What one prompt produced, and how it is shown and saved: its websocket messages and history
entry (``PromptRun``), the failure in one line, the texts and result fields of its output nodes,
and its images downloaded through /view."""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from .safe_text import clean
from .workflow import node_sort_key

if TYPE_CHECKING:
    from .connection import ComfyClient


@dataclass
class PromptRun:
    """Everything one queued prompt produced: its websocket messages and its history entry."""

    prompt_id: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    history: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """ "success", "error" or "interrupted" (from the ws messages, then the history)."""
        types = [m.get("type") for m in self.messages]
        if "execution_interrupted" in types:
            return "interrupted"
        if "execution_error" in types:
            return "error"
        if "execution_success" in types:
            return "success"
        for kind, _data in self.history.get("status", {}).get("messages", []):
            if kind == "execution_interrupted":
                return "interrupted"
        status_str = self.history.get("status", {}).get("status_str")
        return "success" if status_str == "success" else "error"

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        """The ``ui`` results by node id, as /history holds them."""
        return dict(self.history.get("outputs", {}))

    @property
    def error(self) -> dict[str, Any] | None:
        """The ``execution_error`` (or ``execution_interrupted``) data, None when it succeeded."""
        for message in self.messages:
            if message.get("type") in ("execution_error", "execution_interrupted"):
                return message.get("data")
        for kind, data in self.history.get("status", {}).get("messages", []):
            if kind in ("execution_error", "execution_interrupted"):
                return data
        return None

    def progress(self, node_id: str) -> list[tuple[int, int]]:
        """(value, max) of every ``progress`` message sent while ``node_id`` ran."""
        return [
            (m["data"]["value"], m["data"]["max"])
            for m in self.messages
            if m.get("type") == "progress" and str(m["data"].get("node")) == str(node_id)
        ]

    def executed(self) -> dict[str, dict[str, Any]]:
        """The ``output`` of every ``executed`` ws message by node id."""
        return {
            str(m["data"]["node"]): m["data"].get("output") or {}
            for m in self.messages
            if m.get("type") == "executed"
        }

    def texts(self) -> list[tuple[str, str]]:
        """(node id, text) for every ``text`` entry in the outputs."""
        found = []
        for node_id, output in self.outputs.items():
            for text in output.get("text", []) or []:
                found.append((node_id, str(text)))
        return found

    def images(self) -> list[tuple[str, dict[str, Any]]]:
        """(node id, {filename, subfolder, type}) for every image in the outputs."""
        found = []
        for node_id, output in self.outputs.items():
            for image in output.get("images", []) or []:
                if isinstance(image, dict) and "filename" in image:
                    found.append((node_id, image))
        return found


def describe_failure(run: PromptRun) -> str:
    """What went wrong in a prompt that ran: node, exception type and message."""
    error = run.error or {}
    where = f"node {error.get('node_id', '?')} ({error.get('node_type', '?')})"
    if run.status == "interrupted":
        return f"prompt {run.prompt_id} was interrupted at {where}"
    kind = error.get("exception_type", "error")
    message = str(error.get("exception_message", "")).strip() or "no message"
    return clean(f"prompt {run.prompt_id} failed at {where}: {kind}: {message}")


# Result fields a node may put in its ``ui`` dict (directly, or in a list of dicts such as
# ArcFaceScore's ``identity_report``), printed with a readable name after the node's texts.
RESULT_FIELDS = {
    "lora_name": "LoRA",
    "lora_path": "LoRA file",
    "recommended_strength": "recommended strength",
    "strength": "recommended strength",
    "passed": "passed",
    "recommended_lora": "recommended LoRA",
    "recommended_step": "recommended checkpoint step",
    "report_path": "report",
    "path": "report",
}
UI_DISPLAY_KEYS = ("text", "images", "animated", "audio")


def result_fields(output: dict[str, Any]) -> list[tuple[str, Any]]:
    """(label, value) for every known result field in one node's ``ui`` output."""
    found = []
    for key, value in output.items():
        if key in UI_DISPLAY_KEYS:
            continue
        items = value if isinstance(value, list) else [value]
        if key in RESULT_FIELDS:
            found.extend((RESULT_FIELDS[key], item) for item in items)
            continue
        for item in items:
            if isinstance(item, dict):
                found.extend(
                    (_label(name, label, item), item[name])
                    for name, label in RESULT_FIELDS.items()
                    if name in item
                )
    return found


def _label(name: str, label: str, item: dict[str, Any]) -> str:
    """A strength that passed nothing is a best effort, and is printed as one."""
    if name == "strength" and item.get("passed") is False:
        return "best-effort strength (no strength passed; see the report)"
    return label


def print_results(run: PromptRun, workflow: dict[str, Any], out: TextIO, label: str = "") -> None:
    """Every text of every output node, then the LoRA / strength / report fields they give."""
    prefix = f"[{label}] " if label else ""
    for node_id, output in sorted(run.outputs.items(), key=lambda item: node_sort_key(item[0])):
        title = workflow.get(node_id, {}).get("class_type", "?")
        for text in output.get("text", []) or []:
            print(clean(f"{prefix}#{node_id} {title}: {text}"), file=out)
        for field_label, value in result_fields(output):
            print(clean(f"{prefix}#{node_id} {title}: {field_label} = {value}"), file=out)
    out.flush()


def download_images(client: ComfyClient, run: PromptRun, folder: str, overwrite: bool = False) -> list[str]:
    """Save every output image through /view into ``folder``; returns the written paths.

    The server names the files, so each name is reduced to safe characters of its base name: a
    file never lands outside ``folder``, never through a link, and an existing file is kept (the
    new one gets a numbered name) unless ``overwrite``.
    """
    os.makedirs(folder, exist_ok=True)
    written = []
    for _node_id, image in run.images():
        payload = client.view(image["filename"], image.get("subfolder", ""), image.get("type", "output"))
        written.append(_save_download(folder, download_name(image), payload, overwrite))
    return written


def download_name(image: dict[str, Any]) -> str:
    """``<subfolder>_<file name>`` from base names in safe characters only."""
    parts = [str(image.get("subfolder") or ""), str(image.get("filename") or "")]
    safe = [re.sub(r"[^A-Za-z0-9._-]+", "_", part.replace("\\", "/")).strip("._") for part in parts]
    name = "_".join(part for part in safe if part)
    return name or "image"


def _save_download(folder: str, name: str, payload: bytes, overwrite: bool) -> str:
    stem, suffix = os.path.splitext(name)
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    for number in itertools.count():
        path = os.path.join(folder, f"{stem}_{number}{suffix}" if number else name)
        try:
            handle = os.open(path, flags | (os.O_TRUNC if overwrite else os.O_EXCL), 0o644)
        except FileExistsError:
            continue
        with os.fdopen(handle, "wb") as file:
            file.write(payload)
        return path
    raise AssertionError("unreachable")  # pragma: no cover
