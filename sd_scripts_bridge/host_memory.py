"""What the job asks of the program it runs in (ComfyUI, through ``nodes/comfy_glue/memory.py``) about memory.

The engine is a separate process that loads its own copy of the FLUX files. Before it starts, the
host gives back what it holds: its models' VRAM first (then the free VRAM it measures is what the
``auto`` tier is chosen from), and its models' RAM too when the RAM preflight finds the engine
would not fit otherwise. The ``train`` CLI runs without a host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .model import DeviceReport


@dataclass(frozen=True)
class Release:
    """What the host freed, said in a sentence, and what it measured afterwards."""

    message: str
    device: DeviceReport | None = None  # after release_vram: the free VRAM (None: no GPU)
    held_ram_bytes: int = 0  # RAM still held by models the host could not let go of
    held_models: tuple[str, ...] = ()  # their names, for the refusal's message


class MemoryHost(Protocol):
    def release_vram(self) -> Release:
        """Unload the host's models from the GPU and measure the free VRAM."""

    def release_ram(self) -> Release:
        """Drop from RAM whatever model the host can; say what is still held."""
