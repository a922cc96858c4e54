"""Dataset scan and checks, caption rules and token uniqueness (pure Python, no ComfyUI)."""

from .model import (
    FAIL,
    PASS,
    UNCHECKED,
    WARN,
    Dataset,
    DatasetItem,
    Finding,
    TokenUniqueness,
    worst_severity,
)

__all__ = [
    "FAIL",
    "PASS",
    "UNCHECKED",
    "WARN",
    "Dataset",
    "DatasetItem",
    "Finding",
    "TokenUniqueness",
    "worst_severity",
]
