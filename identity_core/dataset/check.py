"""DatasetCheck: scan a folder, measure every image, run the checks, produce a verdict.

Reads only: the dataset folder is never written to.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..faces import FaceBackend
from . import checks
from .image_notes import background_words, light_words
from .measures import measure_image
from .model import CAPTION_FILE, CAPTION_NONE, FAIL, UNCHECKED, Dataset, DatasetItem, Finding, worst_severity
from .result import CheckResult, ImageResult
from .scan import FolderScan, scan_folder
from .thresholds import Thresholds

CAPTION_ENCODING_MARK = "caption not UTF-8"
ProgressCallback = Callable[[int, int], None]  # (images done, images in total); may raise to cancel


def check_dataset(
    folder: str | Path,
    backend: FaceBackend,
    thresholds: Thresholds | None = None,
    regularization_folder: str | Path | None = None,
    backend_message: str = "",
    on_progress: ProgressCallback | None = None,
) -> CheckResult:
    """Check a dataset folder (and optional regularization folder) with a loaded face backend.

    ``on_progress(done, total)`` is called after every image; raising from it cancels the
    check (the node uses this for ComfyUI's interrupt).
    """
    thresholds = thresholds or Thresholds()
    subject_scan = scan_folder(folder)
    regularization_scan = scan_folder(regularization_folder) if regularization_folder else None
    total = len(subject_scan.images) + (len(regularization_scan.images) if regularization_scan else 0)
    counter = _Counter(total, on_progress)
    subject = [_measure(record, backend, thresholds, counter) for record in subject_scan.images]
    regularization = (
        [_measure(record, backend, thresholds, counter) for record in regularization_scan.images]
        if regularization_scan
        else []
    )
    findings = _subject_findings(subject_scan, subject, backend, thresholds)
    regularization_dataset = None
    if regularization_scan is not None:
        findings += checks.check_regularization(
            regularization, subject, backend.same_person_cosine, thresholds
        )
        regularization_dataset = _dataset(regularization_scan, regularization, [], backend, thresholds)
    dataset = _dataset(subject_scan, subject, findings, backend, thresholds, regularization_dataset)
    return CheckResult(dataset, findings, subject, regularization, backend.name, backend_message)


class _Counter:
    def __init__(self, total: int, callback: ProgressCallback | None) -> None:
        self.done, self.total, self.callback = 0, total, callback

    def step(self) -> None:
        self.done += 1
        if self.callback is not None:
            self.callback(self.done, self.total)


def _measure(record, backend: FaceBackend, thresholds: Thresholds, counter: _Counter) -> ImageResult:
    result = ImageResult(record)
    if record.readable:
        faces = backend.analyze(record.pixels)
        result.measures = measure_image(record.pixels, faces)
    counter.step()
    return result


def _subject_findings(scan: FolderScan, images: list[ImageResult], backend, t: Thresholds) -> list[Finding]:
    usable = [r for r in images if r.record.readable]
    findings = [checks.check_count(len(usable), t)]
    findings += checks.check_files(images, scan.other_files, scan.orphan_captions)
    findings += _caption_encoding(images)
    findings += checks.check_formats(images)
    if usable:
        findings.append(checks.check_resolution(images, t))
        findings += checks.check_faces(images, t)
        identity = checks.check_identity(images, backend.same_person_cosine)
        if identity is not None:
            findings.append(identity)
        findings.append(checks.check_pose(images, t))
        findings.append(checks.check_framing(images, t))
        findings.append(checks.check_lighting(images, t))
        findings += checks.check_backgrounds(images, t)
        findings.append(checks.check_duplicates(images, t))
        findings.append(checks.check_blur(images, t))
    return findings


def _caption_encoding(images: list[ImageResult]) -> list[Finding]:
    bad = [r for r in images if r.record.caption_error]
    for result in bad:
        result.mark(FAIL, CAPTION_ENCODING_MARK)
    if not bad:
        return []
    details = "; ".join(f"{r.record.caption_path.name}: {r.record.caption_error}" for r in bad)
    return [
        Finding(
            "caption_encoding", FAIL, len(bad), "UTF-8 caption files",
            f"Caption files the engine cannot read: {details}",
            "Re-save these .txt files as UTF-8 (CaptionTokenizer can also rewrite them with write_captions).",
            tuple(r.record.caption_path.name for r in bad),
        )
    ]  # fmt: skip


def _dataset(
    scan: FolderScan, images: list[ImageResult], findings, backend, thresholds, regularization=None
) -> Dataset:
    items = tuple(
        DatasetItem(
            image_path=r.record.path,
            caption=r.record.caption,
            caption_source=CAPTION_FILE if r.record.caption is not None else CAPTION_NONE,
            caption_path=r.record.caption_path,
        )
        for r in images
        if r.record.readable and not _excluded(r)
    )
    return Dataset(
        folder=scan.folder,
        items=items,
        regularization=regularization,
        verdict=worst_severity([f.severity for f in findings]) if findings else UNCHECKED,
        findings=tuple(findings),
        face_backend=backend.name,
        extra={"image_notes": _image_notes(images, thresholds)},
    )


def _image_notes(images: list[ImageResult], thresholds: Thresholds) -> dict[str, dict[str, str]]:
    """Framing, view, light and background per image name, for CaptionTokenizer's template captions."""
    notes = {}
    for image in images:
        measures = image.measures
        if measures is None:
            continue
        note = {
            "light": ", ".join(light_words(measures)),
            "background": ", ".join(background_words(measures)),
        }
        if measures.face_height_ratio is not None:
            note["framing"] = checks.framing_class(measures.face_height_ratio, thresholds)
            note["pose"] = measures.pose_class or ""
        notes[image.name] = note
    return notes


def _excluded(result: ImageResult) -> bool:
    """Images with an image-level failure are left out of the dataset passed on.

    A caption in the wrong encoding does not exclude its image: CaptionTokenizer re-stages it.
    """
    return any(severity == FAIL and text != CAPTION_ENCODING_MARK for severity, text in result.marks)
