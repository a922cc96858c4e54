"""DatasetCheck's human text report and its JSON-ready dictionary."""

from __future__ import annotations

from typing import Any

from .model import FAIL, PASS, WARN
from .result import CheckResult, ImageResult

_LABEL = {PASS: "PASS", WARN: "WARN", FAIL: "FAIL"}


def render_text(result: CheckResult) -> str:
    dataset = result.dataset
    lines = [
        f"Dataset check: {_LABEL.get(dataset.verdict, dataset.verdict.upper())} - {dataset.folder.name}",
        f"Faces measured with: {result.backend_name}",
    ]
    if result.backend_message:
        lines.append(result.backend_message)
    if result.backend_sees and result.backend_sees not in result.backend_message:
        lines.append(f"It sees {result.backend_sees}; it cannot see {result.backend_cannot_see}.")
    lines.append(f"{len(dataset.items)} of {len(result.images)} images go on to training.")
    lines.append("")
    for severity in (FAIL, WARN, PASS):
        for finding in (f for f in result.findings if f.severity == severity):
            lines.append(f"[{_LABEL[severity]}] {finding.check}: {finding.message}")
            lines.append(f"       measured {_short(finding.measured)}; wanted {finding.threshold}")
            if finding.fix and severity != PASS:
                lines.append(f"       fix: {finding.fix}")
    lines.append("")
    lines.append("Per image:")
    for image in result.images:
        lines.append("  " + _image_line(image))
    if result.regularization_images:
        lines.append("Regularization images:")
        lines.extend("  " + _image_line(image) for image in result.regularization_images)
    if dataset.report_path:
        lines.append("")
        lines.append(f"JSON report: {dataset.report_path.name}")
    return "\n".join(lines)


def _image_line(image: ImageResult) -> str:
    record, measures = image.record, image.measures
    parts = [f"{_LABEL[image.severity]:4} {image.name}"]
    if record.error:
        parts.append(record.error)
    else:
        parts.append(f"{record.width}x{record.height}")
    if measures is not None and measures.not_measured:
        parts.append(f"faces not measured: {measures.not_measured}")
    elif measures is not None:
        parts.append(f"{len(measures.faces)} face(s)")
        if measures.dominant is not None and measures.dominant.yaw is not None:
            parts.append(f"yaw {measures.dominant.yaw:+.0f} ({measures.pose_class})")
        if measures.face_height_ratio is not None:
            parts.append(f"face {measures.face_height_ratio:.0%} of height")
    if measures is not None:
        parts.append(f"sharpness {measures.sharpness:.0f}")
    if image.marks:
        parts.append("; ".join(text for _, text in image.marks))
    return " | ".join(parts)


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


def result_to_dict(result: CheckResult) -> dict[str, Any]:
    dataset = result.dataset
    return {
        "verdict": dataset.verdict,
        "folder": dataset.folder.name,  # no server path: the report may be served to any client
        "face_backend": result.backend_name,
        "face_backend_message": result.backend_message,
        "face_backend_sees": result.backend_sees,
        "face_backend_cannot_see": result.backend_cannot_see,
        "images_used": [item.image_path.name for item in dataset.items],
        "findings": [finding.to_dict() for finding in result.findings],
        "images": [_image_dict(image) for image in result.images],
        "regularization": {
            "folder": dataset.regularization.folder.name if dataset.regularization else None,
            "images": [_image_dict(image) for image in result.regularization_images],
        },
    }


def _image_dict(image: ImageResult) -> dict[str, Any]:
    record, measures = image.record, image.measures
    entry: dict[str, Any] = {
        "file": image.name,
        "severity": image.severity,
        "marks": [{"severity": s, "text": t} for s, t in image.marks],
        "width": record.width,
        "height": record.height,
        "mode": record.mode,
        "exif_orientation": record.exif_orientation,
        "error": record.error,
        "caption_file": record.caption_path.name if record.caption_path else None,
        "caption_error": record.caption_error,
    }
    if measures is not None:
        dominant = measures.dominant
        entry.update(
            faces=len(measures.faces),
            not_measured=measures.not_measured,
            face_boxes=[[round(v / record_scale(image), 1) for v in f.bbox] for f in measures.faces],
            yaw=_round(dominant.yaw if dominant else None),
            pitch=_round(dominant.pitch if dominant else None),
            roll=_round(dominant.roll if dominant else None),
            pose_class=measures.pose_class,
            face_height_ratio=_round(measures.face_height_ratio, 3),
            sharpness=_round(measures.sharpness),
            face_sharpness=_round(measures.face_sharpness),
            light_mean=_round(measures.light_mean),
            light_contrast=_round(measures.light_contrast),
            warmth=_round(measures.warmth),
            face_side_light=_round(measures.face_side_light),
            phash=str(measures.phash),
        )
    return entry


def record_scale(image: ImageResult) -> float:
    return image.record.analysis_scale or 1.0


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


def contact_tiles(result: CheckResult) -> list:
    """One contact-sheet tile per subject image, then per regularization image."""
    from ..reports.contact_sheet import Tile

    tiles = []
    for prefix, images in (("", result.images), ("reg: ", result.regularization_images)):
        for image in images:
            measures = image.measures
            tiles.append(
                Tile(
                    image=image.record.pixels,
                    title=prefix + image.name,
                    severity=image.severity,
                    marks=tuple(text for _, text in image.marks) or ("ok",),
                    boxes=tuple(f.bbox for f in measures.faces) if measures else (),
                )
            )
    return tiles


def render_contact_sheet(result: CheckResult, tile_size: int = 256, columns: int = 6):
    from ..reports.contact_sheet import contact_sheet

    return contact_sheet(contact_tiles(result), tile_size=tile_size, columns=columns)


def save_json_report(result: CheckResult, folder) -> CheckResult:
    """Write the JSON report into ``folder`` (never the dataset folder) and record its path."""
    from ..reports.json_report import write_json_report

    path = write_json_report(result_to_dict(result), folder, "dataset_check")
    result.dataset = result.dataset.replace(report_path=path)
    return result
