"""Inputs a client can send as anything, checked before a node does any work.

An API prompt may hold any JSON for any input: text where a model belongs, a dict where the
dataset belongs, NaN for a number (NaN passes ComfyUI's own range check). Each check gives the
error every node gives (what happened, which input, what to do) instead of a crash deep inside.
Text caps and number ranges are ``identity_core.input_limits``; this module checks the values
that only ComfyUI makes (models, image batches) and the pack's own values.
"""

from __future__ import annotations

from typing import Any


def require_dataset(name: str, value: Any, optional: bool = False):
    """The pack's IDENTITY_DATASET value (made by DatasetCheck or CaptionTokenizer)."""
    from ..identity_core.dataset.model import Dataset

    if value is None and optional:
        return None
    if not isinstance(value, Dataset):
        _refuse(
            name, value, "a checked dataset", "connect DatasetCheck's or CaptionTokenizer's dataset output"
        )
    return value


def require_images(name: str, value: Any, optional: bool = False):
    """A ComfyUI IMAGE batch: a float tensor B x H x W x C with 3 or 4 channels."""
    if value is None and optional:
        return None
    shape = getattr(value, "shape", None)
    floating = getattr(getattr(value, "dtype", None), "is_floating_point", False)
    if shape is None or len(shape) != 4 or shape[-1] not in (3, 4) or not floating:
        _refuse(name, value, "an image batch", "connect an IMAGE output (e.g. LoadImage)")
    return value


def require_models(model: Any, clip: Any, vae: Any) -> None:
    """MODEL, CLIP and VAE as ComfyUI's loaders make them (checked by the methods the sweep calls)."""
    for name, value, kind, method in (
        ("model", model, "MODEL", "clone"),
        ("clip", clip, "CLIP", "tokenize"),
        ("vae", vae, "VAE", "decode"),
    ):
        if isinstance(value, str | int | float | bool | list | dict) or not callable(
            getattr(value, method, None)
        ):
            _refuse(name, value, f"a {kind}", f"connect a {kind} loader's output")


def _refuse(name: str, value: Any, kind: str, fix: str) -> None:
    from ..identity_core.input_limits import InputLimitError

    raise InputLimitError(
        f"The {name} input got a {type(value).__name__}, not {kind}",
        f"{fix} (such a value cannot be written as a value in the workflow or the API prompt)",
        name,
    )
