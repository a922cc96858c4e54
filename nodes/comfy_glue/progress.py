"""The node's progress bar in the frontend, and the user's cancel (ComfyUI's interrupt)."""

from __future__ import annotations

from typing import Any


def progress_bar(total: int) -> Any:
    import comfy.utils

    return comfy.utils.ProgressBar(total)


def raise_if_interrupted() -> None:
    """Stop the node here when the user cancelled (ComfyUI then shows it as interrupted)."""
    import comfy.model_management

    comfy.model_management.throw_exception_if_processing_interrupted()


def is_interrupted() -> bool:
    """Whether the user cancelled: a cheap callable for pure-Python loops (``should_cancel``)."""
    import comfy.model_management

    return bool(comfy.model_management.processing_interrupted())
