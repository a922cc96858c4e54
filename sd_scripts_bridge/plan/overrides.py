"""Profile overrides as the front ends write them: ``KEY=VALUE`` (CLI) or a JSON object (node).

Values are only parsed here; ``profiles.resolve_settings`` checks each against its bounds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..errors import BridgeError


class OverrideSyntaxError(BridgeError):
    pass


def parse_key_values(items: Sequence[str]) -> dict[str, Any]:
    """``["max_train_steps=2000", "lr_scheduler=cosine"]``; values are JSON when they parse."""
    overrides: dict[str, Any] = {}
    for item in items:
        key, separator, text = item.partition("=")
        if not separator:
            raise OverrideSyntaxError(
                what=f"--set {item!r} is not KEY=VALUE", fix="write e.g. --set max_train_steps=2000"
            )
        try:
            overrides[key.strip()] = json.loads(text)
        except ValueError:
            overrides[key.strip()] = text
    return overrides


def parse_settings_json(text: str) -> dict[str, Any]:
    """A JSON object of settings (empty text: none)."""
    if not text.strip():
        return {}
    try:
        values = json.loads(text)
    except (ValueError, RecursionError) as error:  # nesting past the parser's depth is RecursionError
        raise OverrideSyntaxError(
            what=f"advanced_settings is not valid JSON ({str(error)[:80]})",
            fix='write an object such as {"lr_warmup_steps": 50}, or leave it empty',
        ) from None
    if not isinstance(values, dict):
        raise OverrideSyntaxError(
            what="advanced_settings is not a JSON object",
            fix='write an object such as {"lr_warmup_steps": 50}, or leave it empty',
        )
    return values


def from_fields(
    steps: int = 0, learning_rate: float = 0.0, rank: int = 0, alpha: float = 0.0, resolution: int = 0
) -> dict[str, Any]:
    """The node's number inputs as overrides; 0 means "the profile's value". Alpha follows a rank
    that is set without one (alpha = rank keeps the LoRA's scale at 1)."""
    chosen = {
        "max_train_steps": int(steps),
        "learning_rate": float(learning_rate),
        "network_dim": int(rank),
        "network_alpha": float(alpha or rank),
        "resolution": int(resolution),
    }
    return {key: value for key, value in chosen.items() if value}
