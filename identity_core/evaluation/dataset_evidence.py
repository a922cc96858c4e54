"""What DatasetCheck (and CaptionTokenizer) found about the reference dataset, for the diagnoses.

ArcFaceScore's ``reference_dataset`` carries the checked dataset's verdict and findings. Each
failure mode names the dataset findings that can explain it before any training advice
(docs/profiles.md, "Fix the dataset first": fix the dataset first, not the optimizer).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..dataset.model import FAIL, PASS, WARN, Dataset, Finding
from . import failure_modes as modes
from .failure_modes import FailureMode

# Which checks can explain which failure (DatasetCheck and CaptionTokenizer check names). Weak
# identity is the general failure of realism: every warning or failure of the dataset comes first.
EVERY_CHECK = None
RELEVANT_CHECKS: dict[FailureMode, tuple[str, ...] | None] = {
    modes.WEAK_IDENTITY: EVERY_CHECK,
    modes.ANGLE_FAILURE: ("pose", "no_face"),
    modes.SAMEFACE: ("duplicates", "background", "environments", "pose", "framing", "lighting", "count"),
    modes.MEMORISATION: ("duplicates", "count", "background"),
    modes.PROMPT_BRITTLENESS: ("environments", "background", "framing", "lighting", "identical_phrasing"),
    modes.WAXY_SKIN: ("blur", "resolution"),
    modes.IDENTITY_BLEED: (
        "regularization_count", "regularization_subject", "regularization_no_face", "several_faces",
        "regularization_token",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class DatasetEvidence:
    verdict: str
    findings: tuple[Finding, ...] = field(default_factory=tuple)
    backend: str | None = None  # the face backend DatasetCheck measured with

    @classmethod
    def from_dataset(cls, dataset: Dataset) -> DatasetEvidence:
        captions = tuple(dataset.extra.get("caption_findings", ()))
        return cls(dataset.verdict, tuple(dataset.findings) + captions, dataset.face_backend)

    @property
    def has_problems(self) -> bool:
        return self.verdict in (WARN, FAIL) or any(f.severity != PASS for f in self.findings)

    def causes_for(self, mode: FailureMode) -> list[str]:
        """The warn/fail findings that can explain ``mode``, failures first, with their fixes."""
        checks = RELEVANT_CHECKS.get(mode, ())
        found = [
            f
            for f in self.findings
            if (checks is EVERY_CHECK or f.check in checks) and f.severity in (WARN, FAIL)
        ]
        found.sort(key=lambda f: f.severity != FAIL)
        return [f"{f.check} ({f.severity}): {f.message} Fix: {f.fix}".strip() for f in found]

    def summary(self) -> str:
        problems = [f.check for f in self.findings if f.severity in (WARN, FAIL)]
        text = f"DatasetCheck verdict {self.verdict}"
        if problems:
            text += f" ({', '.join(dict.fromkeys(problems))})"
        return text + (f", measured with {self.backend}" if self.backend else "")
