"""Errors the evaluation raises (the package's :class:`~identity_core.errors.IdentityError` shape)."""

from __future__ import annotations

from ..errors import IdentityError


class EvaluationError(IdentityError):
    """A sweep or a reference that cannot be scored; ``source`` names the node input."""
