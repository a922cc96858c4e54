"""What a dataset must have before training: no failed check, and a trigger token.

The canonical rule (docs/profiles.md, "Fix the dataset first"): if identity realism degrades, fix the dataset
first, not the optimizer. So a dataset that DatasetCheck failed is refused, with its worst
findings and their fixes, before any GPU time is spent.
"""

from __future__ import annotations

from ..errors import IdentityError
from .model import FAIL, Dataset

FIX_DATASET_RULE = "If identity realism degrades, fix the dataset first, not the optimizer."
SHOWN_FINDINGS = 3


class DatasetRefusedError(IdentityError):
    """Training was refused because of the dataset."""


def refuse_failed_dataset(dataset: Dataset) -> None:
    if dataset.verdict != FAIL:
        return
    failed = [f for f in dataset.findings if f.severity == FAIL][:SHOWN_FINDINGS]
    details = "; ".join(f"{f.message} (fix: {f.fix})" if f.fix else f.message for f in failed)
    raise DatasetRefusedError(
        f"DatasetCheck's verdict is 'fail', so training was refused: {details}",
        f"fix the dataset as the findings say and run DatasetCheck again. {FIX_DATASET_RULE}",
        "dataset",
    )


def require_trigger_token(dataset: Dataset) -> str:
    token = (dataset.trigger_token or "").strip()
    if not token:
        raise DatasetRefusedError(
            "The dataset has no trigger token",
            "put a CaptionTokenizer node between DatasetCheck and this node",
            "dataset",
        )
    return token
