"""Where generated demo and test material lives: ``$IDENTITY_LORA_CACHE`` or ``~/.cache/flux-identity-lora``.

The Makefile and ``scripts/setup_test_env.sh`` use the same folder for the test venv and ComfyUI.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "IDENTITY_LORA_CACHE"


def cache_root() -> Path:
    """The cache folder (not created here)."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "flux-identity-lora"
