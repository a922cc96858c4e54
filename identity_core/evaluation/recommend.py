"""Pick the strength, or say what went wrong using the design document's failure table.

The recommendation is the lowest strength at which every non-control prompt reaches the
identity target with no overfit signal (same pose, carbon copies, memorisation) and no
leakage on the control prompt. With several checkpoints of one run, the checkpoint that
passes at the lowest strength wins; ties go to the one listed first (the earlier one).
When nothing passes, the diagnoses below say why (design document, section 9).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .cells import CellScore
from .thresholds import Thresholds


@dataclass(frozen=True)
class FailureMode:
    issue: str
    cause: str
    fix: str


WEAK_IDENTITY = FailureMode(
    "Weak identity", "Undertraining", "Train more steps or with a higher rank (e.g. 32 -> 64)"
)
SAMEFACE = FailureMode(
    "Sameface", "Overtraining", "Stop earlier (use an earlier checkpoint), add dropout, add prior images"
)
ANGLE_FAILURE = FailureMode(
    "Angle failure", "Poor dataset", "Add three-quarter and side/profile images of the person"
)
PROMPT_BRITTLENESS = FailureMode(
    "Prompt brittleness",
    "Text encoder overfit",
    "Freeze the text encoder early (train it for at most half the steps, or not at all)",
)
IDENTITY_BLEED = FailureMode(
    "Identity bleed",
    "Overtraining / concept collapse: the class word became the person",
    "Add regularization images captioned with the class word only, stop earlier, "
    "freeze the text encoder early",
)


@dataclass
class Diagnosis:
    mode: FailureMode
    evidence: str


@dataclass
class Recommendation:
    strength: float
    lora_name: str
    passed: bool
    summary: str
    diagnoses: list[Diagnosis] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AnglePoint:
    """One generated face with a known yaw (non-control prompts only)."""

    yaw: float
    similarity: float


def _by_setting(cells: list[CellScore]) -> dict[tuple[str, float], list[CellScore]]:
    groups: dict[tuple[str, float], list[CellScore]] = {}
    for cell in cells:
        groups.setdefault((cell.lora_name, cell.strength), []).append(cell)
    return groups


def _content(cells: list[CellScore]) -> list[CellScore]:
    return [c for c in cells if not c.is_control]


def _setting_passes(cells: list[CellScore]) -> bool:
    content = _content(cells)
    return (
        bool(content)
        and all(c.reaches_target for c in content)
        and not any(c.overfit for c in cells if not c.is_control)
        and not any(c.leakage for c in cells)
    )


def _setting_label(lora_name: str, strength: float, several_loras: bool) -> str:
    return f"{lora_name} @ {strength:g}" if several_loras and lora_name else f"strength {strength:g}"


def _mean_content_similarity(cells: list[CellScore]) -> float:
    values = [c.similarity_mean for c in _content(cells) if c.similarity_mean is not None]
    return float(np.mean(values)) if values else -1.0


def recommend(
    cells: list[CellScore],
    thresholds: Thresholds,
    angle_points: list[AnglePoint] | None = None,
    reference_has_side_views: bool | None = None,
) -> Recommendation:
    groups = _by_setting(cells)
    loras = list(dict.fromkeys(cell.lora_name for cell in cells))
    several = len(loras) > 1
    candidates = [
        (strength, loras.index(lora), lora)
        for (lora, strength), group in groups.items()
        if strength > 0 and _setting_passes(group)
    ]
    diagnoses = diagnose(cells, thresholds, angle_points or [], reference_has_side_views)
    if candidates:
        strength, _, lora = min(candidates)
        label = _setting_label(lora, strength, several)
        notes = _notes_for_pass(groups, lora, strength, thresholds)
        summary = (
            f"Recommended: {label}. Every prompt with the token reaches the identity target "
            f"{thresholds.identity_target:.2f} with no overfit signal and no leakage on the control prompt."
        )
        return Recommendation(strength, lora, True, summary, [], notes)
    strength, lora = _best_effort(groups)
    label = _setting_label(lora, strength, several)
    summary = (
        f"No strength passed. Best effort: {label} "
        "(highest identity without overfit or leakage where possible)."
    )
    if not diagnoses:
        diagnoses.append(Diagnosis(WEAK_IDENTITY, "No setting met every criterion; see the table."))
    return Recommendation(strength, lora, False, summary, diagnoses, [])


def _best_effort(groups: dict[tuple[str, float], list[CellScore]]) -> tuple[float, str]:
    clean = {
        key: group
        for key, group in groups.items()
        if key[1] > 0 and not any(c.overfit or c.leakage for c in group)
    }
    pool = clean or {key: group for key, group in groups.items() if key[1] > 0} or groups
    (lora, strength), _ = max(pool.items(), key=lambda item: (_mean_content_similarity(item[1]), -item[0][1]))
    return strength, lora


def _notes_for_pass(
    groups: dict[tuple[str, float], list[CellScore]], lora: str, strength: float, thresholds: Thresholds
) -> list[str]:
    notes = []
    if strength > 1.0:
        notes.append(
            f"The identity only holds above strength 1.0 ({strength:g}): the LoRA is weak. "
            f"{WEAK_IDENTITY.cause} -> {WEAK_IDENTITY.fix}."
        )
    higher = sorted(s for (name, s), group in groups.items() if name == lora and s > strength)
    for s in higher:
        group = groups[(lora, s)]
        problems = [r for c in group for r in c.overfit_reasons()] + [
            f"leakage on '{c.prompt_id}'" for c in group if c.leakage
        ]
        if problems:
            notes.append(f"At strength {s:g}: {'; '.join(sorted(set(problems)))}. Do not go that high.")
    return notes


def diagnose(
    cells: list[CellScore],
    thresholds: Thresholds,
    angle_points: list[AnglePoint],
    reference_has_side_views: bool | None,
) -> list[Diagnosis]:
    """Every failure mode the numbers show, strongest evidence first."""
    content = _content(cells)
    found = []
    reached = [c for c in content if c.reaches_target]
    if content and not reached:
        best = max(content, key=lambda c: c.similarity_mean if c.similarity_mean is not None else -2.0)
        if best.similarity_mean is None:
            evidence = "No face was found in any image of the prompts with the token."
        else:
            evidence = (
                f"No prompt reaches the target {thresholds.identity_target:.2f}; the best is "
                f"'{best.prompt_id}' at strength {best.strength:g} with {best.similarity_mean:.2f}."
            )
        found.append(Diagnosis(WEAK_IDENTITY, evidence))
    prompts = list(dict.fromkeys(c.prompt_id for c in content))
    reaching_prompts = list(dict.fromkeys(c.prompt_id for c in reached))
    if reached and len(reaching_prompts) < len(prompts):
        never = [p for p in prompts if p not in reaching_prompts]
        found.append(
            Diagnosis(
                PROMPT_BRITTLENESS,
                f"'{', '.join(reaching_prompts)}' reach the target but '{', '.join(never)}' never do: "
                "the identity breaks when the prompt changes.",
            )
        )
    overfit = [c for c in content if c.overfit and c.strength > 0]
    if overfit:
        worst = overfit[0]
        found.append(
            Diagnosis(
                SAMEFACE,
                f"{len(overfit)} prompt/strength cells show overfit signals, e.g. '{worst.prompt_id}' at "
                f"{worst.strength:g}: {'; '.join(worst.overfit_reasons())}.",
            )
        )
    leaks = [c for c in cells if c.leakage]
    if leaks:
        strengths = ", ".join(f"{s:g}" for s in sorted({c.strength for c in leaks}))
        found.append(
            Diagnosis(
                IDENTITY_BLEED,
                f"The person appears on the control prompt without the token at strength {strengths}.",
            )
        )
    angle = _angle_failure(angle_points, thresholds, reference_has_side_views)
    if angle:
        found.append(angle)
    return found


def _angle_failure(
    points: list[AnglePoint], thresholds: Thresholds, reference_has_side_views: bool | None
) -> Diagnosis | None:
    turned = [p.similarity for p in points if abs(p.yaw) >= thresholds.turned_yaw_degrees]
    frontal = [p.similarity for p in points if abs(p.yaw) < thresholds.turned_yaw_degrees]
    if len(turned) < 2 or not frontal:
        return None
    turned_mean, frontal_mean = float(np.mean(turned)), float(np.mean(frontal))
    if not (turned_mean < thresholds.identity_target <= frontal_mean):
        return None
    evidence = (
        f"Frontal faces reach {frontal_mean:.2f} but faces turned {thresholds.turned_yaw_degrees:g} degrees "
        f"or more only {turned_mean:.2f} ({len(turned)} images)."
    )
    if reference_has_side_views is False:
        evidence += " The reference photos contain no turned faces."
    return Diagnosis(ANGLE_FAILURE, evidence)
