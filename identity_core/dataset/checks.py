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
            "count", FAIL, count, threshold,
            f"Only {count} usable images; identity training needs at least {t.min_images}.",
            f"Add {t.min_images - count} or more photos of the person (different angles, light and places).",
        )  # fmt: skip
    if count > t.max_images:
        return Finding(
            "count", WARN, count, threshold,
            f"{count} images; more than {t.max_images} rarely helps and slows every epoch.",
            f"Keep the best {t.max_images}: drop near-duplicates and weak photos first.",
        )  # fmt: skip
    return Finding("count", PASS, count, threshold, f"{count} usable images.")


def check_files(
    results: Sequence[ImageResult], other_files: Sequence, orphan_captions: Sequence
) -> list[Finding]:
    findings = []
    broken = [r for r in results if r.record.error]
    for result in broken:
        result.mark(FAIL, "unreadable")
    if broken:
        details = "; ".join(f"{r.name}: {r.record.error}" for r in broken)
        findings.append(Finding(
            "unreadable", FAIL, len(broken), "0 unreadable images",
            f"{len(broken)} image file(s) cannot be read: {details}",
            "Re-export these files as JPEG or PNG, or remove them from the folder.", _names(broken),
        ))  # fmt: skip
    if other_files:
        names = tuple(p.name for p in other_files)
        findings.append(Finding(
            "other_files", WARN, len(names), "only .png .jpg .jpeg .webp .bmp images and .txt captions",
            f"The engine skips these entries: {', '.join(names)}.",
            "Convert photos in other formats (HEIC, TIFF, GIF...) to JPEG or PNG; remove the rest.", names,
        ))  # fmt: skip
    if orphan_captions:
        names = tuple(p.name for p in orphan_captions)
        findings.append(Finding(
            "orphan_captions", WARN, len(names), "every .txt has a same-name image",
            f"Caption files without an image: {', '.join(names)}.",
            "Rename each caption to match its image's file name, or remove it.", names,
        ))  # fmt: skip
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
        findings.append(Finding(
            "over_limit", WARN, len(too_large), limit, f"Left out, too large to decode safely: {details}.",
            "Resize them to a few thousand pixels per side (training uses at most 1024 px).",
            _names(too_large),
        ))  # fmt: skip
    if unlisted:
        findings.append(Finding(
            "too_many_entries", WARN, unlisted, f"at most {MAX_FOLDER_ENTRIES} entries per folder",
            f"The folder holds {unlisted} more entries than the {MAX_FOLDER_ENTRIES} looked at (by name).",
            "Keep only the 15-30 photos of the person and their captions in this folder.",
        ))  # fmt: skip
    if links_outside:
        names = tuple(p.name for p in links_outside)
        findings.append(Finding(
            "links_outside", WARN, len(names), "no links that lead out of the folder",
            f"Skipped: these links point outside the folder: {', '.join(names)}.",
            "Copy those photos into the folder instead of linking them.", names,
        ))  # fmt: skip
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
            findings.append(Finding(check, severity, len(hits), "0 images", message, fix, _names(hits)))
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
            "resolution", FAIL, measured, threshold,
            f"Smaller than the smallest training bucket ({min_bucket} px): {', '.join(sizes)}.",
            "Replace them with larger originals (at least 1024 px on the long side is best).",
            _names(too_small + upscaled),
        )  # fmt: skip
    if upscaled:
        return Finding(
            "resolution", WARN, measured, threshold,
            f"Below the {t.profile} profile's {base}x{base} training area, so they are upscaled and soft: "
            + ", ".join(sizes) + ".",
            "Use larger originals where you have them.", _names(upscaled),
        )  # fmt: skip
    return Finding("resolution", PASS, measured, threshold, "Every image covers the training resolution.")


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
        findings.append(Finding(
            "several_faces", FAIL, len(several), "exactly one dominant face per image",
            "These images show more than one face of similar size, so the LoRA would blend identities "
            "(identity bleed).",
            "Crop each to the person alone, or remove it.", _names(several),
        ))  # fmt: skip
    if none:
        findings.append(_no_face(none, len(measured), t, limits))
    if not several and not none:
        findings.append(
            Finding(
                "faces",
                PASS,
                len(measured),
                "exactly one dominant face per image",
                f"Every measured image shows one dominant face ({limits.name}).",
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
        "no_face", severity, round(share, 3), threshold,
        f"No face found by {limits.name} in {len(none)} image(s).{blind_spot} Photos where the face is "
        "hidden, tiny or turned away teach little about the face.",
        "Check these photos; replace those where the face is hidden, tiny or turned away.", _names(none),
    )  # fmt: skip


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
    return flagged_images(skipped, WARN, f"not measured by {limits.name}", lambda: Finding(
        "not_measured", WARN, len(skipped), "every image measured by the face backend",
        f"Not measured by {limits.name} (not counted as 'no face'): {details}.",
        "Look at these photos yourself; re-exporting them as 8-bit RGB JPEG or PNG of at least "
        "512 px usually lets the face backend read them.", _names(skipped),
    ))  # fmt: skip


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
            "identity", WARN, lowest, threshold,
            "These faces do not match the rest of the set; they may show someone else.",
            "Remove photos of other people; keep only the subject.", _names(strangers),
        )  # fmt: skip
    return Finding("identity", PASS, lowest, threshold, "All faces look like the same person.")


def check_pose(results: Sequence[ImageResult], t: Thresholds, limits: BackendLimits) -> Finding:
    posed = [r for r in _measured(results) if r.measures.pose_class]
    counts = {name: sum(1 for r in posed if r.measures.pose_class == name) for name in POSE_CLASSES}
    measured = dict(counts)
    threshold = f"front, three-quarter and profile each >= {t.min_pose_share:.0%} of the faces"
    if not posed:
        return Finding(
            "pose", WARN, measured, threshold, f"No head pose could be measured by {limits.name}.",
            "Add clear photos of the face from the front, at three-quarter and in profile.",
        )  # fmt: skip
    missing = [name for name in POSE_CLASSES if counts[name] < t.min_pose_share * len(posed)]
    summary = ", ".join(f"{counts[n]} {n}" for n in POSE_CLASSES)
    if not missing:
        return Finding("pose", PASS, measured, threshold, f"Angle mix ({limits.name}): {summary}.")
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
        "pose", WARN, measured, threshold, message + caveat,
        "Add " + " and ".join(advice[m] for m in missing) + ".",
    )  # fmt: skip


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
        return Finding("framing", WARN, counts, threshold, "Framing could not be measured (no faces).")
    non_portrait = (counts["mid shot"] + counts["full body"]) / len(framed)
    summary = ", ".join(f"{v} {k}" for k, v in counts.items())
    if counts["portrait"] == 0:
        return Finding(
            "framing",
            WARN,
            counts,
            threshold,
            f"No close-up portraits ({summary}).",
            "Add a few head-and-shoulders portraits so the face detail is learned.",
        )
    if non_portrait < t.min_non_portrait_share:
        return Finding(
            "framing", WARN, counts, threshold, f"Almost only close-ups ({summary}).",
            "Add mid-shot and full-body photos, or the LoRA will only draw the person as a close-up.",
        )  # fmt: skip
    return Finding("framing", PASS, counts, threshold, f"Framing mix: {summary}.")


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
        return Finding("lighting", PASS, spreads, threshold, "Lighting varies across the set.")
    return Finding(
        "lighting", WARN, spreads, threshold,
        "The photos share nearly the same light; the LoRA may bake that light into the face.",
        "Add photos in daylight, indoor light, warm and cool light, and with light from the side.",
    )  # fmt: skip


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
        findings.append(Finding(
            "background", WARN, round(share, 3), f"one background in at most {t.max_background_share:.0%}",
            f"{len(largest)} of {len(measured)} photos share one background; the LoRA will learn the room "
            "as part of the person.",
            "Replace some of them with photos taken in other places.", _names(largest),
        ))  # fmt: skip
    else:
        findings.append(
            Finding(
                "background",
                PASS,
                round(share, 3),
                f"one background in at most {t.max_background_share:.0%}",
                "No background dominates.",
            )
        )
    environments = len(clusters)
    if environments < t.min_environments:
        findings.append(Finding(
            "environments", WARN, environments, f">= {t.min_environments} different environments",
            f"Only {environments} distinct environment(s).",
            "Add photos from other places: indoors, outdoors, different rooms and streets.",
        ))  # fmt: skip
    else:
        findings.append(
            Finding(
                "environments",
                PASS,
                environments,
                f">= {t.min_environments} different environments",
                f"{environments} distinct environments.",
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
        return Finding("duplicates", PASS, 0, threshold, "No near-duplicates.")
    for a, b, _ in pairs:
        a.mark(WARN, f"duplicate of {b.name}")
        b.mark(WARN, f"duplicate of {a.name}")
    listed = "; ".join(f"{a.name} ~ {b.name} ({d})" for a, b, d in pairs)
    files = tuple(dict.fromkeys(n for a, b, _ in pairs for n in (a.name, b.name)))
    return Finding(
        "duplicates", WARN, len(pairs), threshold, f"Near-duplicate or mirrored pairs: {listed}.",
        "Keep one photo of each pair; duplicates push the LoRA toward copying that one shot.", files,
    )  # fmt: skip


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
            "blur", WARN, lowest, threshold, "These photos (or their faces) are blurry or out of focus.",
            "Replace them with sharp photos; blur is learned as part of the identity.", _names(blurry),
        )  # fmt: skip
    return Finding("blur", PASS, lowest, threshold, "All photos are sharp.")


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
        findings.append(Finding(
            "regularization_count", WARN, count, threshold,
            f"{count} usable regularization images; {t.min_regularization}-{t.max_regularization} generic "
            "people prevent concept collapse.",
            "Add (or remove) photos of other people of the same class (man, woman, person).",
        ))  # fmt: skip
    else:
        findings.append(
            Finding("regularization_count", PASS, count, threshold, f"{count} regularization images.")
        )
    broken = [r for r in regularization if r.record.error]
    if broken:
        findings.append(Finding(
            "regularization_unreadable", WARN, len(broken), "0 unreadable images",
            "Unreadable regularization images: " + "; ".join(f"{r.name}: {r.record.error}" for r in broken),
            "Re-export or remove them.", _names(broken),
        ))  # fmt: skip
    faceless = [r for r in readable if not r.measures.faces]
    if faceless:
        findings.append(Finding(
            "regularization_no_face", WARN, len(faceless), "a person in every regularization image",
            "No face found in these regularization images; they should show generic people.",
            "Replace them with photos of people.", _names(faceless),
        ))  # fmt: skip
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
            findings.append(Finding(
                "regularization_subject", FAIL, round(best, 3), threshold,
                "These regularization images show the subject; they would teach the model that everyone "
                "looks like them.",
                "Remove them from the regularization folder.", _names(lookalikes),
            ))  # fmt: skip
        elif best >= 0:
            findings.append(
                Finding(
                    "regularization_subject",
                    PASS,
                    round(best, 3),
                    threshold,
                    "No regularization image shows the subject.",
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
