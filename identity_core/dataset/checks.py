"""The dataset checks. Each takes measured images and returns findings with a fix."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence

import numpy as np

from ..faces import (
    FRONT,
    FULL_PROFILE_YAW,
    POSE_CLASSES,
    PROFILE,
    THREE_QUARTER,
    BackendLimits,
    cosine,
    l2_normalise,
)
from .measures import background_distance, phash_distance
from .model import FAIL, PASS, WARN, Finding
from .result import ImageResult
from .scan import MAX_FOLDER_ENTRIES, MAX_IMAGE_PIXELS
from .thresholds import Thresholds


def _names(results: Sequence[ImageResult]) -> tuple[str, ...]:
    return tuple(r.name for r in results)


def _measured(results: Sequence[ImageResult]) -> list[ImageResult]:
    return [r for r in results if r.measures is not None]


def check_count(count: int, t: Thresholds) -> Finding:
    threshold = f"{t.min_images}-{t.max_images} images"
    if count < t.min_images:
        return Finding(
            check="count",
            severity=FAIL,
            measured=count,
            threshold=threshold,
            message=f"Only {count} usable images; identity training needs at least {t.min_images}.",
            fix=f"Add {t.min_images - count} or more photos of the person (different angles, light and "
            "places).",
        )
    if count > t.max_images:
        return Finding(
            check="count",
            severity=WARN,
            measured=count,
            threshold=threshold,
            message=f"{count} images; more than {t.max_images} rarely helps and slows every epoch.",
            fix=f"Keep the best {t.max_images}: drop near-duplicates and weak photos first.",
        )
    return Finding(
        check="count", severity=PASS, measured=count, threshold=threshold, message=f"{count} usable images."
    )


def check_files(
    results: Sequence[ImageResult], other_files: Sequence, orphan_captions: Sequence
) -> list[Finding]:
    findings = []
    broken = [r for r in results if r.record.error]
    for result in broken:
        result.mark(FAIL, "unreadable")
    if broken:
        details = "; ".join(f"{r.name}: {r.record.error}" for r in broken)
        findings.append(
            Finding(
                check="unreadable",
                severity=FAIL,
                measured=len(broken),
                threshold="0 unreadable images",
                message=f"{len(broken)} image file(s) cannot be read: {details}",
                fix="Re-export these files as JPEG or PNG, or remove them from the folder.",
                files=_names(broken),
            )
        )
    if other_files:
        names = tuple(p.name for p in other_files)
        findings.append(
            Finding(
                check="other_files",
                severity=WARN,
                measured=len(names),
                threshold="only .png .jpg .jpeg .webp .bmp images and .txt captions",
                message=f"The engine skips these entries: {', '.join(names)}.",
                fix="Convert photos in other formats (HEIC, TIFF, GIF...) to JPEG or PNG; remove the rest.",
                files=names,
            )
        )
    if orphan_captions:
        names = tuple(p.name for p in orphan_captions)
        findings.append(
            Finding(
                check="orphan_captions",
                severity=WARN,
                measured=len(names),
                threshold="every .txt has a same-name image",
                message=f"Caption files without an image: {', '.join(names)}.",
                fix="Rename each caption to match its image's file name, or remove it.",
                files=names,
            )
        )
    return findings


def check_limits(results: Sequence[ImageResult], unlisted: int, links_outside: Sequence) -> list[Finding]:
    """What the pack's own limits left out (never failed for: each is left out and named)."""
    findings = []
    too_large = [r for r in results if r.record.over_limit]
    for result in too_large:
        result.mark(WARN, "over the size limit")
    if too_large:
        details = "; ".join(f"{r.name}: {r.record.over_limit}" for r in too_large)
        limit = f"at most {MAX_IMAGE_PIXELS // 1_000_000} megapixels per image"
        findings.append(
            Finding(
                check="over_limit",
                severity=WARN,
                measured=len(too_large),
                threshold=limit,
                message=f"Left out, too large to decode safely: {details}.",
                fix="Resize them to a few thousand pixels per side (training uses at most 1024 px).",
                files=_names(too_large),
            )
        )
    if unlisted:
        findings.append(
            Finding(
                check="too_many_entries",
                severity=WARN,
                measured=unlisted,
                threshold=f"at most {MAX_FOLDER_ENTRIES} entries per folder",
                message=f"The folder holds {unlisted} more entries than the {MAX_FOLDER_ENTRIES} looked at "
                "(by name).",
                fix="Keep only the 15-30 photos of the person and their captions in this folder.",
            )
        )
    if links_outside:
        names = tuple(p.name for p in links_outside)
        findings.append(
            Finding(
                check="links_outside",
                severity=WARN,
                measured=len(names),
                threshold="no links that lead out of the folder",
                message=f"Skipped: these links point outside the folder: {', '.join(names)}.",
                fix="Copy those photos into the folder instead of linking them.",
                files=names,
            )
        )
    return findings


def check_formats(results: Sequence[ImageResult]) -> list[Finding]:
    """What the engine would get wrong: it ignores EXIF rotation, alpha and 16-bit depth."""
    readable = [r for r in results if r.record.readable]
    rules = [
        ("exif_orientation", WARN, "rotated by EXIF",
         lambda r: r.record.exif_orientation not in (0, 1),
         "The camera stored these photos sideways with an EXIF rotation flag, which the engine ignores: "
         "it would train on sideways faces.",
         "Open each in an image editor, rotate it upright and save (or export) a new copy."),
        ("bit_depth", FAIL, "16-bit",
         lambda r: r.record.bit_depth == 16,
         "16-bit images turn almost white when the engine converts them to 8-bit RGB.",
         "Save these as 8-bit PNG or JPEG."),
        ("cmyk", WARN, "CMYK",
         lambda r: r.record.mode == "CMYK",
         "CMYK images (print colour) are converted naively by the engine; colours shift.",
         "Convert them to RGB (sRGB) in an image editor and save again."),
        ("alpha", WARN, "transparency",
         lambda r: r.record.has_alpha,
         "These images have transparent areas; the engine drops the alpha channel, so hidden pixels "
         "(often black) become the background.",
         "Flatten them onto a real background and save as JPEG or RGB PNG."),
    ]  # fmt: skip
    findings = []
    for check, severity, mark, applies, message, fix in rules:
        hits = [r for r in readable if applies(r)]
        for result in hits:
            result.mark(severity, mark)
        if hits:
            findings.append(
                Finding(
                    check=check,
                    severity=severity,
                    measured=len(hits),
                    threshold="0 images",
                    message=message,
                    fix=fix,
                    files=_names(hits),
                )
            )
    return findings


def check_resolution(results: Sequence[ImageResult], t: Thresholds) -> Finding:
    base, min_bucket, _ = t.resolution
    readable = [r for r in results if r.record.readable]
    too_small = [r for r in readable if max(r.record.width, r.record.height) < min_bucket]
    upscaled = [r for r in readable if r not in too_small and r.record.width * r.record.height < base * base]
    threshold = f"long side >= {min_bucket} px; {base}x{base} px area or more ({t.profile} profile)"
    sizes = [f"{r.name} {r.record.width}x{r.record.height}" for r in too_small + upscaled]
    for result in too_small:
        result.mark(FAIL, "too small")
    for result in upscaled:
        result.mark(WARN, "low resolution")
    measured = min((min(r.record.width, r.record.height) for r in readable), default=0)
    if too_small:
        return Finding(
            check="resolution",
            severity=FAIL,
            measured=measured,
            threshold=threshold,
            message=f"Smaller than the smallest training bucket ({min_bucket} px): {', '.join(sizes)}.",
            fix="Replace them with larger originals (at least 1024 px on the long side is best).",
            files=_names(too_small + upscaled),
        )
    if upscaled:
        return Finding(
            check="resolution",
            severity=WARN,
            measured=measured,
            threshold=threshold,
            message=f"Below the {t.profile} profile's {base}x{base} training area, so they are upscaled and "
            "soft: " + ", ".join(sizes) + ".",
            fix="Use larger originals where you have them.",
            files=_names(upscaled),
        )
    return Finding(
        check="resolution",
        severity=PASS,
        measured=measured,
        threshold=threshold,
        message="Every image covers the training resolution.",
    )


def check_faces(results: Sequence[ImageResult], t: Thresholds, limits: BackendLimits) -> list[Finding]:
    """One dominant face per image. Images the backend could not measure are reported as such,
    never as "no face"; and "no face" fails the set only when the backend sees full profiles,
    so a detector's blind spot never fails a dataset."""
    measured = [r for r in _measured(results) if r.measures.not_measured is None]
    several = [r for r in measured if r.measures.competing_faces]
    none = [r for r in measured if not r.measures.faces]
    for result in several:
        result.mark(FAIL, f"{result.measures.competing_faces + 1} faces")
    for result in none:
        result.mark(WARN, "no face")
    findings = _not_measured(results, limits)
    if several:
        findings.append(
            Finding(
                check="several_faces",
                severity=FAIL,
                measured=len(several),
                threshold="exactly one dominant face per image",
                message="These images show more than one face of similar size, so the LoRA would blend "
                "identities (identity bleed).",
                fix="Crop each to the person alone, or remove it.",
                files=_names(several),
            )
        )
    if none:
        findings.append(_no_face(none, len(measured), t, limits))
    if not several and not none:
        findings.append(
            Finding(
                check="faces",
                severity=PASS,
                measured=len(measured),
                threshold="exactly one dominant face per image",
                message=f"Every measured image shows one dominant face ({limits.name}).",
            )
        )
    return findings


def _no_face(none: list[ImageResult], measured: int, t: Thresholds, limits: BackendLimits) -> Finding:
    """Fails above ``max_no_face_share`` with a detector that sees full profiles; with one that sees
    three-quarter views only above ``max_no_face_share_any_detector`` (no identity set holds mostly
    heads turned beyond what such a detector finds); never with a frontal-only detector."""
    share = len(none) / measured
    sees_all = limits.sees_yaw(FULL_PROFILE_YAW)
    if sees_all:
        limit, threshold = t.max_no_face_share, f"at most {t.max_no_face_share:.0%} of images without a face"
    elif limits.sees_yaw(t.profile_min_yaw):
        limit = t.max_no_face_share_any_detector
        threshold = (
            f"at most {limit:.0%} of images without a face for a detector that misses full profiles "
            f"({t.max_no_face_share:.0%} when it sees them)"
        )
    else:
        limit, threshold = 1.0, "a warning only: this detector misses turned heads"
    severity = FAIL if share > limit else WARN
    blind_spot = ""
    if not sees_all:
        blind_spot = f" {limits.name} cannot see {limits.cannot_see}, so some of these may hold a face."
    return Finding(
        check="no_face",
        severity=severity,
        measured=round(share, 3),
        threshold=threshold,
        message=f"No face found by {limits.name} in {len(none)} image(s).{blind_spot} Photos where the face "
        "is hidden, tiny or turned away teach little about the face.",
        fix="Check these photos; replace those where the face is hidden, tiny or turned away.",
        files=_names(none),
    )


def flagged_images(
    flagged: Sequence[ImageResult], severity: str, mark: str, finding: Callable[[], Finding]
) -> list[Finding]:
    """Mark every flagged image and return ``finding()`` about them; nothing when none is flagged."""
    for result in flagged:
        result.mark(severity, mark)
    return [finding()] if flagged else []


def _not_measured(results: Sequence[ImageResult], limits: BackendLimits) -> list[Finding]:
    skipped = [r for r in _measured(results) if r.measures.not_measured is not None]
    details = "; ".join(f"{r.name}: {r.measures.not_measured}" for r in skipped)
    return flagged_images(
        skipped,
        WARN,
        f"not measured by {limits.name}",
        lambda: Finding(
            check="not_measured",
            severity=WARN,
            measured=len(skipped),
            threshold="every image measured by the face backend",
            message=f"Not measured by {limits.name} (not counted as 'no face'): {details}.",
            fix="Look at these photos yourself; re-exporting them as 8-bit RGB JPEG or PNG of at least 512 "
            "px usually lets the face backend read them.",
            files=_names(skipped),
        ),
    )


def check_identity(results: Sequence[ImageResult], same_person_cosine: float) -> Finding | None:
    """Flag faces that look like a different person than the rest (leave-one-out centroid)."""
    with_faces = [
        r for r in _measured(results) if r.measures.dominant and r.measures.dominant.embedding is not None
    ]
    if len(with_faces) < 3:
        return None
    embeddings = np.stack([l2_normalise(r.measures.dominant.embedding) for r in with_faces])
    total = embeddings.sum(0)
    similarities = [cosine(e, total - e) for e in embeddings]
    strangers = [r for r, s in zip(with_faces, similarities, strict=True) if s < same_person_cosine]
    for result in strangers:
        result.mark(WARN, "other person?")
    lowest = round(min(similarities), 3)
    threshold = f"similarity to the others >= {same_person_cosine:.3f}"
    if strangers:
        return Finding(
            check="identity",
            severity=WARN,
            measured=lowest,
            threshold=threshold,
            message="These faces do not match the rest of the set; they may show someone else.",
            fix="Remove photos of other people; keep only the subject.",
            files=_names(strangers),
        )
    return Finding(
        check="identity",
        severity=PASS,
        measured=lowest,
        threshold=threshold,
        message="All faces look like the same person.",
    )


def check_pose(results: Sequence[ImageResult], t: Thresholds, limits: BackendLimits) -> Finding:
    posed = [r for r in _measured(results) if r.measures.pose_class]
    counts = {name: sum(1 for r in posed if r.measures.pose_class == name) for name in POSE_CLASSES}
    measured = dict(counts)
    threshold = f"front, three-quarter and profile each >= {t.min_pose_share:.0%} of the faces"
    if not posed:
        return Finding(
            check="pose",
            severity=WARN,
            measured=measured,
            threshold=threshold,
            message=f"No head pose could be measured by {limits.name}.",
            fix="Add clear photos of the face from the front, at three-quarter and in profile.",
        )
    missing = [name for name in POSE_CLASSES if counts[name] < t.min_pose_share * len(posed)]
    summary = ", ".join(f"{counts[n]} {n}" for n in POSE_CLASSES)
    if not missing:
        return Finding(
            check="pose",
            severity=PASS,
            measured=measured,
            threshold=threshold,
            message=f"Angle mix ({limits.name}): {summary}.",
        )
    advice = {
        FRONT: "front-facing photos",
        THREE_QUARTER: f"three-quarter views (head turned {t.front_max_yaw:g}-{t.profile_min_yaw:g} degrees)",
        PROFILE: f"side/profile views (head turned more than {t.profile_min_yaw:g} degrees)",
    }
    # A class counts as fully seen when the detector was measured to find faces across all of it
    # (three-quarter: up to the profile boundary; profile: up to a full profile).
    needed_yaw = {THREE_QUARTER: t.profile_min_yaw, PROFILE: FULL_PROFILE_YAW}
    unseen = [m for m in missing if m in needed_yaw and not limits.sees_yaw(needed_yaw[m])]
    caveat = (
        f" {limits.name} cannot see {limits.cannot_see}, so some {' and '.join(unseen)} photos may be "
        "missing from this count (under 'no face') or read as a smaller turn: check the mix by eye."
        if unseen
        else ""
    )
    message = f"Angle mix ({limits.name}) is {summary}; too few {', '.join(missing)} (angle failures follow)."
    return Finding(
        check="pose",
        severity=WARN,
        measured=measured,
        threshold=threshold,
        message=message + caveat,
        fix="Add " + " and ".join(advice[m] for m in missing) + ".",
    )


def framing_class(face_height_ratio: float, t: Thresholds) -> str:
    if face_height_ratio >= t.portrait_min_face_ratio:
        return "portrait"
    return "mid shot" if face_height_ratio >= t.full_body_max_face_ratio else "full body"


def check_framing(results: Sequence[ImageResult], t: Thresholds) -> Finding:
    framed = [r for r in _measured(results) if r.measures.face_height_ratio is not None]
    classes = [framing_class(r.measures.face_height_ratio, t) for r in framed]
    counts = {name: classes.count(name) for name in ("portrait", "mid shot", "full body")}
    threshold = f"portraits and >= {t.min_non_portrait_share:.0%} mid/full body (face height / image height)"
    if not framed:
        return Finding(
            check="framing",
            severity=WARN,
            measured=counts,
            threshold=threshold,
            message="Framing could not be measured (no faces).",
        )
    non_portrait = (counts["mid shot"] + counts["full body"]) / len(framed)
    summary = ", ".join(f"{v} {k}" for k, v in counts.items())
    if counts["portrait"] == 0:
        return Finding(
            check="framing",
            severity=WARN,
            measured=counts,
            threshold=threshold,
            message=f"No close-up portraits ({summary}).",
            fix="Add a few head-and-shoulders portraits so the face detail is learned.",
        )
    if non_portrait < t.min_non_portrait_share:
        return Finding(
            check="framing",
            severity=WARN,
            measured=counts,
            threshold=threshold,
            message=f"Almost only close-ups ({summary}).",
            fix="Add mid-shot and full-body photos, or the LoRA will only draw the person as a close-up.",
        )
    return Finding(
        check="framing",
        severity=PASS,
        measured=counts,
        threshold=threshold,
        message=f"Framing mix: {summary}.",
    )


def check_lighting(results: Sequence[ImageResult], t: Thresholds) -> Finding:
    measured = _measured(results)
    side = [r.measures.face_side_light for r in measured if r.measures.face_side_light is not None]
    spreads = {
        "brightness_sd": _sd([r.measures.light_mean for r in measured]),
        "warmth_sd": _sd([r.measures.warmth for r in measured]),
        "side_light_sd": _sd(side),
    }
    spreads = {k: round(v, 2) for k, v in spreads.items()}
    threshold = (
        f"brightness SD >= {t.min_light_spread}, warmth SD >= {t.min_warmth_spread} "
        f"or face side-light SD >= {t.min_side_light_spread} (CIELAB)"
    )
    varied = (
        spreads["brightness_sd"] >= t.min_light_spread
        or spreads["warmth_sd"] >= t.min_warmth_spread
        or spreads["side_light_sd"] >= t.min_side_light_spread
    )
    if varied:
        return Finding(
            check="lighting",
            severity=PASS,
            measured=spreads,
            threshold=threshold,
            message="Lighting varies across the set.",
        )
    return Finding(
        check="lighting",
        severity=WARN,
        measured=spreads,
        threshold=threshold,
        message="The photos share nearly the same light; the LoRA may bake that light into the face.",
        fix="Add photos in daylight, indoor light, warm and cool light, and with light from the side.",
    )


def check_backgrounds(results: Sequence[ImageResult], t: Thresholds) -> list[Finding]:
    measured = [r for r in _measured(results) if r.measures.background is not None]
    if len(measured) < 2:
        return []
    clusters = _cluster(
        measured, lambda a, b: background_distance(a.measures, b.measures) < t.same_background_distance
    )
    largest = max(clusters, key=len)
    share = len(largest) / len(measured)
    findings = []
    if share > t.max_background_share and len(largest) > 1:
        for result in largest:
            result.mark(WARN, "same background")
        findings.append(
            Finding(
                check="background",
                severity=WARN,
                measured=round(share, 3),
                threshold=f"one background in at most {t.max_background_share:.0%}",
                message=f"{len(largest)} of {len(measured)} photos share one background; the LoRA will learn "
                "the room as part of the person.",
                fix="Replace some of them with photos taken in other places.",
                files=_names(largest),
            )
        )
    else:
        findings.append(
            Finding(
                check="background",
                severity=PASS,
                measured=round(share, 3),
                threshold=f"one background in at most {t.max_background_share:.0%}",
                message="No background dominates.",
            )
        )
    environments = len(clusters)
    if environments < t.min_environments:
        findings.append(
            Finding(
                check="environments",
                severity=WARN,
                measured=environments,
                threshold=f">= {t.min_environments} different environments",
                message=f"Only {environments} distinct environment(s).",
                fix="Add photos from other places: indoors, outdoors, different rooms and streets.",
            )
        )
    else:
        findings.append(
            Finding(
                check="environments",
                severity=PASS,
                measured=environments,
                threshold=f">= {t.min_environments} different environments",
                message=f"{environments} distinct environments.",
            )
        )
    return findings


def check_duplicates(results: Sequence[ImageResult], t: Thresholds) -> Finding:
    measured = _measured(results)
    pairs = []
    for i, a in enumerate(measured):
        for b in measured[i + 1 :]:
            distance = phash_distance(a.measures, b.measures)
            if distance <= t.duplicate_phash_distance:
                pairs.append((a, b, distance))
    threshold = f"perceptual-hash distance > {t.duplicate_phash_distance} (mirror images included)"
    if not pairs:
        return Finding(
            check="duplicates", severity=PASS, measured=0, threshold=threshold, message="No near-duplicates."
        )
    for a, b, _ in pairs:
        a.mark(WARN, f"duplicate of {b.name}")
        b.mark(WARN, f"duplicate of {a.name}")
    listed = "; ".join(f"{a.name} ~ {b.name} ({d})" for a, b, d in pairs)
    files = tuple(dict.fromkeys(n for a, b, _ in pairs for n in (a.name, b.name)))
    return Finding(
        check="duplicates",
        severity=WARN,
        measured=len(pairs),
        threshold=threshold,
        message=f"Near-duplicate or mirrored pairs: {listed}.",
        fix="Keep one photo of each pair; duplicates push the LoRA toward copying that one shot.",
        files=files,
    )


def check_blur(results: Sequence[ImageResult], t: Thresholds) -> Finding:
    measured = _measured(results)
    face_values = [r.measures.face_sharpness for r in measured if r.measures.face_sharpness is not None]
    face_median = statistics.median(face_values) if face_values else None
    blurry = []
    for result in measured:
        m = result.measures
        soft_face = (
            face_median is not None
            and m.face_sharpness is not None
            and m.face_sharpness < t.face_sharpness_ratio * face_median
        )
        if m.sharpness < t.min_sharpness or soft_face:
            blurry.append(result)
            result.mark(WARN, "blurry")
    lowest = round(min((r.measures.sharpness for r in measured), default=0.0), 1)
    threshold = (
        f"Laplacian variance >= {t.min_sharpness:g} at 512 px, "
        f"face >= {t.face_sharpness_ratio:g} x the set median"
    )
    if blurry:
        return Finding(
            check="blur",
            severity=WARN,
            measured=lowest,
            threshold=threshold,
            message="These photos (or their faces) are blurry or out of focus.",
            fix="Replace them with sharp photos; blur is learned as part of the identity.",
            files=_names(blurry),
        )
    return Finding(
        check="blur", severity=PASS, measured=lowest, threshold=threshold, message="All photos are sharp."
    )


def check_regularization(
    regularization: Sequence[ImageResult],
    subject: Sequence[ImageResult],
    same_person_cosine: float,
    t: Thresholds,
) -> list[Finding]:
    readable = _measured(regularization)
    findings = []
    threshold = f"{t.min_regularization}-{t.max_regularization} images"
    count = len(readable)
    if not t.min_regularization <= count <= t.max_regularization:
        findings.append(
            Finding(
                check="regularization_count",
                severity=WARN,
                measured=count,
                threshold=threshold,
                message=f"{count} usable regularization images; "
                f"{t.min_regularization}-{t.max_regularization} generic people prevent concept collapse.",
                fix="Add (or remove) photos of other people of the same class (man, woman, person).",
            )
        )
    else:
        findings.append(
            Finding(
                check="regularization_count",
                severity=PASS,
                measured=count,
                threshold=threshold,
                message=f"{count} regularization images.",
            )
        )
    broken = [r for r in regularization if r.record.error]
    if broken:
        findings.append(
            Finding(
                check="regularization_unreadable",
                severity=WARN,
                measured=len(broken),
                threshold="0 unreadable images",
                message="Unreadable regularization images: "
                + "; ".join(f"{r.name}: {r.record.error}" for r in broken),
                fix="Re-export or remove them.",
                files=_names(broken),
            )
        )
    faceless = [r for r in readable if not r.measures.faces]
    if faceless:
        findings.append(
            Finding(
                check="regularization_no_face",
                severity=WARN,
                measured=len(faceless),
                threshold="a person in every regularization image",
                message="No face found in these regularization images; they should show generic people.",
                fix="Replace them with photos of people.",
                files=_names(faceless),
            )
        )
    subject_faces = [r.measures.dominant.embedding for r in _measured(subject)
                     if r.measures.dominant and r.measures.dominant.embedding is not None]  # fmt: skip
    if subject_faces:
        centroid = l2_normalise(np.stack([l2_normalise(e) for e in subject_faces]).sum(0))
        lookalikes, best = [], -1.0
        for result in readable:
            for face in result.measures.faces:
                if face.embedding is None:
                    continue
                similarity = cosine(centroid, face.embedding)
                best = max(best, similarity)
                if similarity >= same_person_cosine:
                    lookalikes.append(result)
                    result.mark(FAIL, "is the subject")
                    break
        threshold = f"similarity to the subject < {same_person_cosine:.3f}"
        if lookalikes:
            findings.append(
                Finding(
                    check="regularization_subject",
                    severity=FAIL,
                    measured=round(best, 3),
                    threshold=threshold,
                    message="These regularization images show the subject; they would teach the model that "
                    "everyone looks like them.",
                    fix="Remove them from the regularization folder.",
                    files=_names(lookalikes),
                )
            )
        elif best >= 0:
            findings.append(
                Finding(
                    check="regularization_subject",
                    severity=PASS,
                    measured=round(best, 3),
                    threshold=threshold,
                    message="No regularization image shows the subject.",
                )
            )
    return findings


def _sd(values: Sequence[float]) -> float:
    return float(statistics.pstdev(values)) if len(values) > 1 else 0.0


def _cluster(items: list, same) -> list[list]:
    """Connected groups under the pairwise relation ``same`` (small n: quadratic is fine)."""
    parent = list(range(len(items)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            if same(items[i], items[j]):
                parent[root(i)] = root(j)
    groups: dict[int, list] = {}
    for i, item in enumerate(items):
        groups.setdefault(root(i), []).append(item)
    return list(groups.values())
