"""What DatasetCheck produced: each image with its measures and marks, and the whole result.

Plain data shared by the checks (``checks.py``), the driver (``check.py``) and the reports
(``report.py``), so none of those modules needs another's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .measures import ImageMeasures
from .model import FAIL, PASS, WARN, Dataset, Finding
from .scan import ImageRecord


@dataclass
class ImageResult:
    """One image with its measures and the short marks the contact sheet prints on it."""

    record: ImageRecord
    measures: ImageMeasures | None = None
    marks: list[tuple[str, str]] = field(default_factory=list)  # (severity, short text)

    @property
    def name(self) -> str:
        return self.record.path.name

    def mark(self, severity: str, text: str) -> None:
        if (severity, text) not in self.marks:
            self.marks.append((severity, text))

    @property
    def severity(self) -> str:
        severities = [s for s, _ in self.marks]
        return FAIL if FAIL in severities else WARN if WARN in severities else PASS


@dataclass
class CheckResult:
    dataset: Dataset
    findings: list[Finding]
    images: list[ImageResult]
    regularization_images: list[ImageResult] = field(default_factory=list)
    backend_name: str = ""
    backend_message: str = ""
    backend_sees: str = ""  # what the backend's face detector finds
    backend_cannot_see: str = ""  # and what it misses (every report says both)

    @property
    def verdict(self) -> str:
        return self.dataset.verdict
