"""What went wrong, read from the scores, the LoRA's training run and the dataset's findings.

Each check returns a :class:`Diagnosis` or None. Every fix names the dataset findings first
(docs/profiles.md, "Fix the dataset first"), then what works for this run in this engine: no
text-encoder advice when the text encoder was frozen, no noise-offset advice for FLUX (the engine
ignores it), no "add priors" when regularization images were used.
"""

from __future__ import annotations

from .cells import CellScore
from .copy_evidence import NEAR_COPY_CROP_MATCH
from .evidence import SweepEvidence, identity_cells, identity_mean, identity_texture, seeds_barely_differ
from .failure_modes import (
    ANGLE_FAILURE,
    IDENTITY_BLEED,
    MEMORISATION,
    PROMPT_BRITTLENESS,
    SAMEFACE,
    WAXY_SKIN,
    WEAK_IDENTITY,
    Diagnosis,
)
from .texture import TEXTURE_LIMITS
from .training_run import TE_FROZEN, TE_TWO_PHASE, TE_UNKNOWN, TrainingRun

NOISE_OFFSET_INERT = (
    "the failure table's fix, a lower noise offset, does nothing for FLUX in this engine (sd-scripts' "
    "FLUX trainer never applies noise offset: the same run with and without it gives a bit-identical LoRA)"
)


def diagnose(ev: SweepEvidence) -> list[Diagnosis]:
    """Every failure mode the numbers show, in the order of docs/profiles.md, "Failure table".

    Each names the backend that measured it and what that backend did not see.
    """
    checks = (
        weak_identity,
        memorisation,
        sameface,
        prompt_brittleness,
        identity_bleed,
        angle_failure,
        waxy_skin,
    )
    found = [d for d in (check(ev) for check in checks) if d is not None]
    for diagnosis in found:
        diagnosis.measured_by = diagnosis.measured_by or _unseen(ev)
    return found


def _unseen(ev: SweepEvidence) -> str:
    images = sum(len(c.seeds) for c in ev.cells)
    faces = round(sum(c.face_rate * len(c.seeds) for c in ev.cells))
    return (
        f"{ev.backend_name}, with the thresholds of {ev.thresholds.model or 'its own scale'}; it found a "
        f"face in {faces} of {images} generated images, and images without a detected face are not scored"
    )


def _fix(ev: SweepEvidence, mode, *run_fixes: str) -> tuple[str, list[str]]:
    """The fix text, dataset first, and the dataset findings it names (numbered when several)."""
    causes = ev.dataset_causes(mode)
    steps = [s for s in run_fixes if s]
    if causes:
        steps.insert(0, "fix the dataset first (the findings below)")
    if len(steps) == 1:
        return steps[0], causes
    return " ".join(f"({n}) {step};" for n, step in enumerate(steps, 1)).rstrip(";"), causes


def _measured_cells(ev: SweepEvidence) -> list[CellScore]:
    t = ev.thresholds
    return [
        c
        for c in identity_cells(ev.cells)
        if c.similarity_mean is not None and c.face_rate >= t.min_face_rate
    ]


def likeness_by_strength(ev: SweepEvidence, lora_name: str) -> list[tuple[float, float]]:
    groups = ev.settings_groups()
    points = [(s, identity_mean(group)) for (name, s), group in groups.items() if name == lora_name]
    return sorted((s, m) for s, m in points if m is not None and s > 0)


def still_rising(ev: SweepEvidence, lora_name: str) -> bool:
    """Likeness rises from the second-highest to the highest strength and is below the target."""
    points = likeness_by_strength(ev, lora_name)
    if len(points) < 2:
        return False
    (_, before), (_, top) = points[-2], points[-1]
    return top - before >= ev.thresholds.rising_margin and top < ev.thresholds.identity_target


def quantised_model(ev: SweepEvidence) -> str | None:
    dtype = str(ev.settings.get("model_weight_dtype") or "")
    return dtype if "float8" in dtype or "int8" in dtype or "fp8" in dtype else None


def weak_identity(ev: SweepEvidence) -> Diagnosis | None:
    measured = _measured_cells(ev)
    if not measured or any(c.reaches_target for c in measured):
        return None
    best = max(measured, key=lambda c: c.similarity_mean)
    t = ev.thresholds
    evidence = (
        f"No identity prompt reaches the target {t.identity_target:.2f}; the best is '{best.prompt_id}' at "
        f"strength {best.strength:g} with {best.similarity_mean:.2f}."
    )
    probed = any(c.beyond_design for c in ev.cells)
    fixes = []
    if still_rising(ev, best.lora_name) and not probed:
        evidence += " Likeness is still rising at the highest strength."
        fixes.append(
            "probe strengths 1.5 and 2.0 before training more (StrengthSweep does it with probe_beyond on "
            "and its reference connected): a LoRA often looks weaker in ComfyUI than in the trainer's samples"
        )
    elif probed:
        evidence += (
            " The probes at 1.5 and 2.0, past the evaluation protocol's sweep, did not reach it either."
        )
    dtype = quantised_model(ev)
    if dtype:
        fixes.append(
            f"the sweep's MODEL holds {dtype} weights, which can round small LoRA deltas away: compare with "
            "the bf16 base if you can generate with it"
        )
    fixes.append(_train_more(ev.run(best.lora_name)))
    fix, causes = _fix(ev, WEAK_IDENTITY, *fixes)
    cause = "the dataset, or undertraining" if causes else ""
    return Diagnosis(WEAK_IDENTITY, evidence, fix, cause, causes)


def _train_more(run: TrainingRun) -> str:
    text = "train more steps"
    if run.steps is not None:
        text += f" (this run: {run.steps} steps"
        if run.regularization_images and run.subject_steps is not None:
            text += f", of which {run.subject_steps} on the subject: regularization takes the other half"
        text += ")"
    text += " or with a higher rank"
    return text + (f" ({run.rank} -> {run.rank * 2})" if run.rank else " (e.g. 32 -> 64)")


def _overtraining_fix(ev: SweepEvidence, run: TrainingRun) -> list[str]:
    fixes = [
        "use an earlier checkpoint (save them with checkpoint_every and compare them with extra_loras) or "
        "a lower strength"
    ]
    if not run.dropout:
        fixes.append("train with dropout (network_dropout 0.1, as the Final profile does)")
    if run.regularization_images == 0:
        fixes.append("add 20-50 regularization images of other people (priors)")
    elif run.regularization_images is None:
        fixes.append("add regularization images (priors) if the run had none")
    return fixes


def _overfit_cells(ev: SweepEvidence, memorised: bool) -> list[CellScore]:
    return [
        c
        for c in ev.cells
        if not c.is_control
        and c.strength > 0
        and (bool(c.memorised) if memorised else c.overfit and not c.memorised)
    ]


def memorisation(ev: SweepEvidence) -> Diagnosis | None:
    cells = _overfit_cells(ev, memorised=True)
    if not cells:
        return None
    worst = cells[0]
    t = ev.thresholds
    evidence = (
        f"{len(cells)} prompt/strength cells reproduce training photos, e.g. '{worst.prompt_id}' at "
        f"{worst.strength:g}: {'; '.join(worst.overfit_reasons())} (a copy is the same person, face "
        f"similarity >= {t.same_person:.3f}, whose aligned face matches one training photo at >= "
        f"{t.copy_crop_match:.2f}: the same expression, pose and light; another photo of the person "
        "matches below that)."
    )
    fix, causes = _fix(ev, MEMORISATION, *_overtraining_fix(ev, ev.run(worst.lora_name)))
    return Diagnosis(MEMORISATION, evidence, fix, dataset_causes=causes)


def sameface(ev: SweepEvidence) -> Diagnosis | None:
    cells = _overfit_cells(ev, memorised=False)
    t = ev.thresholds
    dull = [
        (key, value)
        for key, group in ev.settings_groups().items()
        if key[1] > 0 and (value := seeds_barely_differ(group, t)) is not None
    ]
    if not cells and not dull:
        return None
    parts = []
    if cells:
        parts.append(
            f"{len(cells)} prompt/strength cells show overfit signals, e.g. '{cells[0].prompt_id}' at "
            f"{cells[0].strength:g}: {'; '.join(cells[0].overfit_reasons())}."
        )
    if dull:
        listed = ", ".join(f"{s:g} ({v:.2f})" for (_, s), v in dull)
        parts.append(
            f"Seeds barely differ (diversity below {t.min_diversity:.2f}, and their faces match like one "
            f"session's shots) at strength {listed}."
        )
    lora = cells[0].lora_name if cells else dull[0][0][0]
    fix, causes = _fix(ev, SAMEFACE, *_overtraining_fix(ev, ev.run(lora)))
    return Diagnosis(SAMEFACE, " ".join(parts), fix, dataset_causes=causes)


def prompt_brittleness(ev: SweepEvidence) -> Diagnosis | None:
    measured = [c for c in identity_cells(ev.cells) if c.strength > 0]
    reached = [c for c in measured if c.reaches_target]
    prompts = list(dict.fromkeys(c.prompt_id for c in measured))
    reaching = list(dict.fromkeys(c.prompt_id for c in reached))
    if not reached or len(reaching) == len(prompts):
        return None
    never = [p for p in prompts if p not in reaching]
    evidence = (
        f"'{', '.join(reaching)}' reach the target but '{', '.join(never)}' never do: the identity breaks "
        "when the prompt changes."
    )
    run = ev.run(reached[0].lora_name)
    cause, te_fix = _brittleness_cause(run)
    context = (
        "add photos in other places, outfits and light and describe them in the captions, so only the face "
        "is shared between them; use an earlier checkpoint"
    )
    fix, causes = _fix(ev, PROMPT_BRITTLENESS, te_fix, context)
    return Diagnosis(PROMPT_BRITTLENESS, evidence, fix, cause, causes)


def _brittleness_cause(run: TrainingRun) -> tuple[str, str]:
    """(cause, text-encoder fix) for this run; never advise freezing a frozen text encoder."""
    if run.text_encoder == TE_FROZEN:
        return (
            "not the text encoder (it was frozen for this LoRA): the diffusion model tied the person to the "
            "training photos' settings",
            "",
        )
    if run.text_encoder == TE_TWO_PHASE:
        steps = f"the first {run.text_encoder_steps} steps" if run.text_encoder_steps else "the first phase"
        return (
            f"text encoder overfit (it was trained for {steps}, then frozen)",
            "train the text encoder for fewer steps, or keep it frozen (te_policy frozen)",
        )
    if run.text_encoder == TE_UNKNOWN:
        return (
            "text encoder overfit, if it was trained (this LoRA file does not say)",
            "if the text encoder was trained, freeze it early (at most half the steps) or keep it frozen",
        )
    return "", "freeze the text encoder early (train it for at most half the steps) or keep it frozen"


def identity_bleed(ev: SweepEvidence) -> Diagnosis | None:
    leaks = [c for c in ev.cells if c.leakage]
    if not leaks:
        return None
    strengths = ", ".join(f"{c.strength:g} ({c.similarity_mean:.3f})" for c in _by_strength(leaks))
    evidence = (
        f"The person appears on the control prompt without the token at strength {strengths}: at least "
        f"half of its faces read {ev.thresholds.bleed:.3f} or more against the reference centroid, above "
        "every stranger measured against a centroid."
    )
    run = ev.run(leaks[0].lora_name)
    fixes = []
    if run.regularization_images:
        fixes.append(
            f"this run already used {run.regularization_images} regularization images: check that they show "
            "other people of the class (DatasetCheck), and stop earlier"
        )
    else:
        fixes.append("add 20-50 regularization images captioned with the class word only, and stop earlier")
    if run.text_encoder_was_trained is not False:
        fixes.append("freeze the text encoder early, or keep it frozen")
    fix, causes = _fix(ev, IDENTITY_BLEED, *fixes)
    return Diagnosis(IDENTITY_BLEED, evidence, fix, dataset_causes=causes)


def _by_strength(cells: list[CellScore]) -> list[CellScore]:
    return sorted(cells, key=lambda c: c.strength)


def resemblance_note(ev: SweepEvidence) -> str | None:
    """Control faces that resemble the subject without reaching what makes it bleed: a note."""
    close = [c for c in ev.cells if c.resembles]
    if not close:
        return None
    listed = ", ".join(f"{c.strength:g} ({c.similarity_mean:.3f})" for c in _by_strength(close))
    t = ev.thresholds
    return (
        f"The control prompt's faces resemble the subject at strength {listed}: at least half read "
        f"{t.resembles:.3f} or more against the reference centroid, as the strangers closest to a person "
        f"do, but below {t.bleed:.3f}, what makes it bleed. Check by eye that the control images show "
        "other people."
    )


def near_copy_note(ev: SweepEvidence) -> str | None:
    """Faces as close to one training photo as one session's other shots are: a check by eye."""
    near = sorted(
        {
            m.evidence.describe()
            for c in ev.cells
            if not c.is_control and c.strength > 0
            for m in c.near_copies
        }
    )
    if not near:
        return None
    return (
        f"{len(near)} generated faces match one training photo as closely as another shot of the same "
        f"session does (aligned faces {NEAR_COPY_CROP_MATCH:.2f}-{ev.thresholds.copy_crop_match:.3f}), e.g. "
        f"{near[0]}: check by eye that they are new pictures, not that photo again."
    )


def angle_failure(ev: SweepEvidence) -> Diagnosis | None:
    t = ev.thresholds
    turned = [p.similarity for p in ev.angle_points if abs(p.yaw) >= t.turned_yaw_degrees]
    frontal = [p.similarity for p in ev.angle_points if abs(p.yaw) < t.turned_yaw_degrees]
    if len(turned) < 2 or not frontal:
        return None
    turned_mean, frontal_mean = sum(turned) / len(turned), sum(frontal) / len(frontal)
    if not turned_mean < t.identity_target <= frontal_mean:
        return None
    real = ev.reference_turned_similarity
    if real is not None and turned_mean >= real:
        return None  # the real turned photos score no better: the backend's limit, not the LoRA's
    evidence = (
        f"Frontal faces reach {frontal_mean:.2f} but faces turned {t.turned_yaw_degrees:g} degrees or more "
        f"only {turned_mean:.2f} ({len(turned)} images)"
    )
    evidence += f"; the turned training photos score {real:.2f}." if real is not None else "."
    if ev.reference_has_side_views is False:
        evidence += " The reference photos contain no turned faces."
    fix, causes = _fix(ev, ANGLE_FAILURE, "add three-quarter and side/profile photos of the person")
    return Diagnosis(
        ANGLE_FAILURE,
        evidence,
        fix,
        dataset_causes=causes,
        measured_by=f"{ev.backend_name}: face recognisers lose accuracy on profiles, which is why the turned "
        "training photos are the yardstick; faces the detector misses are not counted",
    )


def texture_ratios(ev: SweepEvidence) -> list[tuple[tuple[str, float], float]]:
    """(setting, identity faces' skin texture / the smoothest training photo's), per setting."""
    lowest = ev.lowest_reference_texture
    if not lowest or len(ev.reference_textures) < ev.thresholds.min_reference_textures:
        return []
    ratios = []
    for key, group in ev.settings_groups().items():
        texture = identity_texture(group)
        if key[1] > 0 and texture is not None:
            ratios.append((key, texture / lowest))
    return sorted(ratios, key=lambda item: (item[0][0], item[0][1]))


def waxy_settings(ev: SweepEvidence) -> list[tuple[tuple[str, float], float]]:
    """Settings whose faces are smoother than any real photo measured reads against its set."""
    return [(key, ratio) for key, ratio in texture_ratios(ev) if ratio < ev.thresholds.waxy_ratio]


def smoother_settings(ev: SweepEvidence) -> list[tuple[tuple[str, float], float]]:
    """Settings smoother than the training photos, where the measure cannot tell waxy from a camera."""
    t = ev.thresholds
    return [(key, ratio) for key, ratio in texture_ratios(ev) if t.waxy_ratio <= ratio < t.waxy_note_ratio]


def smoothness_note(ev: SweepEvidence) -> str | None:
    found = smoother_settings(ev)
    if not found:
        return None
    listed = ", ".join(f"{s:g} ({ratio:.2f}x)" for (_, s), ratio in found)
    return (
        f"Skin is smoother than the smoothest training photo at strength {listed}, but within what real "
        f"photos from other cameras read (waxy below {ev.thresholds.waxy_ratio:g}x): if it looks waxy, use a "
        f"lower strength or an earlier checkpoint; {NOISE_OFFSET_INERT}."
    )


def waxy_skin(ev: SweepEvidence) -> Diagnosis | None:
    found = waxy_settings(ev)
    if not found:
        return None
    listed = ", ".join(f"{s:g} ({ratio:.2f}x)" for (_, s), ratio in found)
    evidence = (
        f"Cheek skin texture is below {ev.thresholds.waxy_ratio:g}x the smoothest training photo's at "
        f"strength {listed}; real photos of people never read that smooth against a set of photos."
    )
    smooth = {key for key, _ in found}
    lower = [
        s for (name, s) in sorted(ev.settings_groups()) if name == found[0][0][0] and (name, s) not in smooth
    ]
    kept = ", ".join(f"{s:g}" for s in lower if s > 0)
    fixes = [
        f"use a lower strength ({kept} keeps the texture) or an earlier checkpoint"
        if kept
        else "use a lower strength or an earlier checkpoint",
        NOISE_OFFSET_INERT,
    ]
    fix, causes = _fix(ev, WAXY_SKIN, *fixes)
    return Diagnosis(
        WAXY_SKIN,
        evidence,
        fix,
        cause="over-smoothing (the LoRA's faces lose the training photos' skin grain)",
        dataset_causes=causes,
        measured_by=f"{ev.backend_name} keypoints; {TEXTURE_LIMITS}",
    )
