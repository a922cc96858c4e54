"""Sweep bookkeeping, identity scores, overfit and leakage signals, and the strength recommendation.

Pure Python (numpy, PIL, imagehash); the face backend comes from ``identity_core.faces``.
"""

from .dataset_evidence import DatasetEvidence
from .errors import EvaluationError
from .model import Sweep, SweepEntry
from .pipeline import EvaluationCancelled, evaluate_sweep
from .prompts import (
    DEFAULT_PROMPTS_TEXT,
    DEFAULT_STRENGTHS_TEXT,
    ROLE_CONTROL,
    ROLE_IDENTITY,
    ROLE_STYLE,
    PromptSpec,
    parse_prompts,
    parse_strengths,
)
from .reference import ReferenceIdentity, build_reference
from .report import EvaluationReport
from .thresholds import Thresholds
from .training_run import TrainingRun

__all__ = [
    "DEFAULT_PROMPTS_TEXT",
    "DEFAULT_STRENGTHS_TEXT",
    "ROLE_CONTROL",
    "ROLE_IDENTITY",
    "ROLE_STYLE",
    "DatasetEvidence",
    "EvaluationCancelled",
    "EvaluationError",
    "EvaluationReport",
    "PromptSpec",
    "ReferenceIdentity",
    "Sweep",
    "SweepEntry",
    "Thresholds",
    "TrainingRun",
    "build_reference",
    "evaluate_sweep",
    "parse_prompts",
    "parse_strengths",
]
