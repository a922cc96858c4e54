"""The one error base of ``identity_core``: what happened, to which file or input, and what to do.

Every error a user can meet from this package is an :class:`IdentityError`. The nodes show
``str(error)``; callers can read the parts separately (``error.what``, ``error.fix``). The engine
bridge has the same shape in ``sd_scripts_bridge.errors.BridgeError``; the two packages never
import each other, so each keeps its own base.
"""

from __future__ import annotations

from pathlib import Path


def short_module(name: str) -> str:
    """A module name without the folder ComfyUI may put in front of it.

    ComfyUI imports a custom node folder under its absolute path as the module name, so an error
    class's ``__module__`` would carry the server's path into /history's ``exception_type``.
    """
    return name.replace("\\", "/").rsplit("/", 1)[-1]


class IdentityError(ValueError):
    """``what`` happened, to ``path`` (a file or folder) or ``source`` (a node input), and the ``fix``."""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.__module__ = short_module(cls.__module__)

    def __init__(
        self, what: str, fix: str, source: str | None = None, path: Path | str | None = None
    ) -> None:
        self.what = what
        self.fix = fix
        self.source = source
        self.path = Path(path) if path is not None else None
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [self.what.rstrip(".") + "."]
        if self.path is not None:
            parts.append(f"File: {self.path}.")
        if self.source:
            parts.append(f"Input: {self.source}.")
        parts.append(f"What to do: {self.fix.rstrip('.')}.")
        return " ".join(parts)


IdentityError.__module__ = short_module(IdentityError.__module__)
