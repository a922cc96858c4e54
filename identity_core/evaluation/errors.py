"""Errors the evaluation raises: what happened, to which input or file, and what to do."""

from __future__ import annotations


class EvaluationError(ValueError):
    """A sweep or a reference that cannot be scored. ``str(error)`` is shown in the node."""

    def __init__(self, what: str, fix: str, source: str | None = None) -> None:
        self.what = what
        self.fix = fix
        self.source = source
        parts = [what.rstrip(".") + "."]
        if source:
            parts.append(f"Input: {source}.")
        parts.append(f"What to do: {fix.rstrip('.')}.")
        super().__init__(" ".join(parts))
