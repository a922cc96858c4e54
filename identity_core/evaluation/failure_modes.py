"""The failure table (docs/profiles.md, "Failure table") as data, and one diagnosis of a run.

A :class:`FailureMode` is a row of the table: the issue, its usual cause and the table's fix. A
:class:`Diagnosis` is that row applied to one run: the evidence that was measured, the dataset findings
that explain it (named first, docs/profiles.md, "Fix the dataset first": "if identity realism degrades,
fix the dataset first, not the optimizer"), and the fix that works for this run (e.g. no text-encoder
advice for a LoRA whose text encoder was frozen, no noise-offset advice for FLUX).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FailureMode:
    issue: str
    cause: str
    fix: str  # the failure table's fix; a Diagnosis says what applies to the run (never shown raw)


# The failure table (issue, cause, fix), with Memorisation split out of Sameface: copying training
# photos is the evaluation protocol's carbon-copy overfit signal, and its evidence is different.
(
    WEAK_IDENTITY,
    SAMEFACE,
    MEMORISATION,
    WAXY_SKIN,
    ANGLE_FAILURE,
    PROMPT_BRITTLENESS,
    IDENTITY_BLEED,
) = (
    FailureMode(*row)
    for row in (
        ("Weak identity", "Undertraining", "More steps, higher rank"),
        ("Sameface", "Overtraining", "Early stop, dropout, priors"),
        ("Memorisation", "Overtraining: the LoRA reproduces training photos", "Early stop, dropout, priors"),
        ("Waxy skin", "Over-smoothing", "Lower noise offset"),
        ("Angle failure", "Poor dataset", "Add side/profile images"),
        ("Prompt brittleness", "Text encoder overfit", "Freeze TE early"),
        (
            "Identity bleed",
            "Overtraining / concept collapse: the class word became the person",
            "Priors, early stop",
        ),
    )
)


@dataclass
class Diagnosis:
    mode: FailureMode
    evidence: str
    fix: str  # what to do for this run, dataset first
    cause: str = ""  # the cause for this run, when it differs from the table's
    dataset_causes: list[str] = field(default_factory=list)  # DatasetCheck findings, named first
    measured_by: str = ""  # the backend and what it cannot see, where that matters

    @property
    def run_cause(self) -> str:
        return self.cause or self.mode.cause

    def to_dict(self) -> dict:
        return {
            "issue": self.mode.issue,
            "cause": self.run_cause,
            "fix": self.fix,
            "evidence": self.evidence,
            "dataset_causes": list(self.dataset_causes),
            "measured_by": self.measured_by,
        }

    def to_text(self) -> str:
        lines = [f"{self.mode.issue} (cause: {self.run_cause}) -> {self.fix}. {self.evidence}"]
        lines += [f"    dataset first: {cause}" for cause in self.dataset_causes]
        if self.measured_by:
            lines.append(f"    measured by: {self.measured_by}")
        return "\n  ".join(lines)
