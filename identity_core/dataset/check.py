"""DatasetCheck: scan a folder, measure every image, run the checks, produce a verdict.

Reads only: the dataset folder is never written to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from ..concurrency import Cancelled, default_workers, ordered_map
from ..faces import FaceBackend, backend_limits
from . import checks
from .image_notes import background_words, light_words
from .measures import measure_image
from .model import CAPTION_FILE, CAPTION_NONE, FAIL, UNCHECKED, Dataset, DatasetItem, Finding, worst_severity
from .result import CheckResult, ImageResult
from .scan import FolderScan, ImageRecord, read_pixels, scan_folder
from .thresholds import Thresholds

CAPTION_ENCODING_MARK = "caption not UTF-8"
MIN_MEASURABLE_SIDE = 32  # smaller images hold too few pixels for any of the face detectors
ProgressCallback = Callable[[int, int], None]  # (images done, images in total); may raise to cancel
CancelCheck = Callable[[], bool]


CheckCancelled = Cancelled  # the check was cancelled before every image was measured


def check_dataset(
    folder: str | Path,
    backend: FaceBackend,
    thresholds: Thresholds | None = None,
    regularization_folder: str | Path | None = None,
    backend_message: str = "",
    on_progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
    workers: int | None = None,
) -> CheckResult:
    """Check a dataset folder (and optional regularization folder) with a loaded face backend.

    ``on_progress(done, total)`` is called after every image; raising from it cancels the
    check (the node uses this for ComfyUI's interrupt). ``should_cancel()`` is asked before
    each image is decoded; when it answers True the check stops with :class:`CheckCancelled`.
    Images are decoded and measured by ``workers`` threads (default: :func:`default_workers`).
    """
    thresholds = thresholds or Thresholds()
    subject_scan = scan_folder(folder, load_pixels=False)
    regularization_scan = (
        scan_folder(regularization_folder, load_pixels=False) if regularization_folder else None
    )
    records = subject_scan.images + (regularization_scan.images if regularization_scan else [])
    measured = _measure_all(records, backend, on_progress, should_cancel, workers or default_workers())
    subject = measured[: len(subject_scan.images)]
    regularization = measured[len(subject_scan.images) :]
    findings = _subject_findings(subject_scan, subject, backend, thresholds)
    regularization_dataset = None
    if regularization_scan is not None:
        findings += checks.check_regularization(
            regularization, subject, backend.same_person_cosine, thresholds
        )
        regularization_dataset = _dataset(regularization_scan, regularization, [], backend, thresholds)
    dataset = _dataset(subject_scan, subject, findings, backend, thresholds, regularization_dataset)
    limits = backend_limits(backend)
    return CheckResult(
        dataset, findings, subject, regularization, backend.name, backend_message,
        backend_sees=limits.sees, backend_cannot_see=limits.cannot_see,
    )  # fmt: skip


def _measure_all(
    records: Sequence[ImageRecord],
    backend: FaceBackend,
    on_progress: ProgressCallback | None,
    should_cancel: CancelCheck | None,
    workers: int,
) -> list[ImageResult]:
    """Decode and measure every image on ``workers`` threads, in the folder's order; progress is
    reported from the calling thread after each image."""
    results: list[ImageResult] = []
    measured = ordered_map(
        lambda record: _measure(record, backend), records, workers, should_cancel, "The dataset check"
    )
    for result in measured:
        results.append(result)
        if on_progress is not None:
            on_progress(len(results), len(records))
    return results


def _measure(record: ImageRecord, backend: FaceBackend) -> ImageResult:
    """Decode one image and measure it; a backend failure leaves it "not measured", never "no face"."""
    result = ImageResult(read_pixels(record))
    if not record.readable:
        return result
    pixels = record.pixels
    if min(pixels.shape[:2]) < MIN_MEASURABLE_SIDE:
        result.measures = measure_image(pixels, [])
        result.measures.not_measured = (
            f"{pixels.shape[1]}x{pixels.shape[0]} px is too small for the face detector"
        )
        return result
    try:
        faces = backend.analyze(pixels)
    except Exception as exc:  # any failure of the face models on this one image
        result.measures = measure_image(pixels, [])
        result.measures.not_measured = f"the face models failed on it ({type(exc).__name__}: {exc})"
        return result
    result.measures = measure_image(pixels, faces)
    return result


def _subject_findings(scan: FolderScan, images: list[ImageResult], backend, t: Thresholds) -> list[Finding]:
    usable = [r for r in images if r.record.readable]
    findings = [checks.check_count(len(usable), t)]
    findings += checks.check_files(images, scan.other_files, scan.orphan_captions)
    findings += checks.check_limits(images, scan.unlisted, scan.links_outside)
    findings += _caption_encoding(images)
    findings += checks.check_formats(images)
    if usable:
        findings.append(checks.check_resolution(images, t))
        findings += checks.check_faces(images, t, backend_limits(backend))
        identity = checks.check_identity(images, backend.same_person_cosine)
        if identity is not None:
            findings.append(identity)
        findings.append(checks.check_pose(images, t, backend_limits(backend)))
        findings.append(checks.check_framing(images, t))
        findings.append(checks.check_lighting(images, t))
        findings += checks.check_backgrounds(images, t)
        findings.append(checks.check_duplicates(images, t))
        findings.append(checks.check_blur(images, t))
    return findings


def _caption_encoding(images: list[ImageResult]) -> list[Finding]:
    bad = [r for r in images if r.record.caption_error]
    details = "; ".join(f"{r.record.caption_path.name}: {r.record.caption_error}" for r in bad)
    return checks.flagged_images(
        bad,
        FAIL,
        CAPTION_ENCODING_MARK,
        lambda: Finding(
            check="caption_encoding",
            severity=FAIL,
            measured=len(bad),
            threshold="UTF-8 caption files",
            message=f"Caption files the engine cannot read: {details}",
            fix="Re-save these .txt files as UTF-8 (CaptionTokenizer can also rewrite them with "
            "write_captions).",
            files=tuple(r.record.caption_path.name for r in bad),
        ),
    )


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
