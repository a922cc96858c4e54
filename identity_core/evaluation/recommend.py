"""Pick the strength, or say what went wrong using the failure table (docs/profiles.md, "Failure table").

The recommendation is the lowest strength at which every *identity* prompt reaches the
identity target, the seeds differ (diversity across seeds) and no identity or style prompt
shows an overfit signal (same pose, carbon copies, copying a training photo), with no
leakage on the control prompt. The style prompt is judged against its own floor and never
blocks a recommendation: face embedders score paintings lower than photos, a limit of the
tool, so a style prompt below its floor is a note to check by eye. With several checkpoints
of one run, the checkpoint that passes at the lowest strength wins; ties go to the one listed
first (the earlier one). Strengths probed beyond the evaluation protocol's sweep (1.5, 2.0) can
be recommended, and the report says they are beyond it. When nothing passes, the strength
shown is a best effort, marked ``passed=False``, and the diagnoses say why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .cells import CellScore
from .diagnose import (
    NOISE_OFFSET_INERT,
    diagnose,
    near_copy_note,
    quantised_model,
    resemblance_note,
    smoothness_note,
    waxy_settings,
)
from .evidence import SweepEvidence, identity_cells, identity_mean, seeds_barely_differ
from .failure_modes import WEAK_IDENTITY, Diagnosis


@dataclass
class Recommendation:
    strength: float
    lora_name: str
    passed: bool
    summary: str
    diagnoses: list[Diagnosis] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    beyond_design: bool = False  # the strength lies past the evaluation protocol's sweep


def setting_passes(cells: list[CellScore], ev: SweepEvidence) -> bool:
    identity = identity_cells(cells)
    return (
        bool(identity)
        and all(c.reaches_target for c in identity)
        and not any(c.overfit for c in cells if not c.is_control)
        and not any(c.leakage for c in cells)
        and seeds_barely_differ(cells, ev.thresholds) is None
    )


def _setting_label(lora_name: str, strength: float, several_loras: bool) -> str:
    return f"{lora_name} @ {strength:g}" if several_loras and lora_name else f"strength {strength:g}"


def recommend(ev: SweepEvidence) -> Recommendation:
    groups = ev.settings_groups()
    loras = ev.loras()
    several = len(loras) > 1
    candidates = [
        (strength, loras.index(lora), lora)
        for (lora, strength), group in groups.items()
        if strength > 0 and setting_passes(group, ev)
    ]
    if candidates:
        strength, _, lora = min(candidates)
        beyond = any(c.beyond_design for c in groups[(lora, strength)])
        summary = (
            f"Recommended: {_setting_label(lora, strength, several)}"
            + (" (beyond the evaluation protocol's sweep)" if beyond else "")
            + f". Every identity prompt reaches the identity target {ev.thresholds.identity_target:.2f}, the "
            "seeds differ, no overfit signal and no leakage on the control prompt."
        )
        notes = pass_notes(ev, lora, strength) + judgement_notes(ev)
        return Recommendation(strength, lora, True, summary, [], notes, beyond)
    strength, lora = _best_effort(groups)
    diagnoses = diagnose(ev)
    summary = (
        f"No strength passed. Best effort, not a recommendation: {_setting_label(lora, strength, several)} "
        "(highest identity without overfit or leakage where possible)."
    )
    if not diagnoses and ev.identity_measured:
        diagnoses.append(
            Diagnosis(WEAK_IDENTITY, "No setting met every criterion; see the table.", WEAK_IDENTITY.fix)
        )
    return Recommendation(strength, lora, False, summary, diagnoses, judgement_notes(ev))


def judgement_notes(ev: SweepEvidence) -> list[str]:
    """What the measures saw but cannot decide: checks by eye, passed or not."""
    return [note for note in (near_copy_note(ev), resemblance_note(ev), smoothness_note(ev)) if note]


def _best_effort(groups: dict[tuple[str, float], list[CellScore]]) -> tuple[float, str]:
    clean = {
        key: group
        for key, group in groups.items()
        if key[1] > 0 and not any(c.overfit or c.leakage for c in group)
    }
    pool = clean or {key: group for key, group in groups.items() if key[1] > 0} or groups
    (lora, strength), _ = max(pool.items(), key=lambda item: (_or_floor(identity_mean(item[1])), -item[0][1]))
    return strength, lora


def _or_floor(value: float | None) -> float:
    return -2.0 if value is None else value


def pass_notes(ev: SweepEvidence, lora: str, strength: float) -> list[str]:
    groups = ev.settings_groups()
    notes = []
    if strength > 1.0:
        notes.append(_weak_note(ev, strength))
    notes += _style_notes(groups[(lora, strength)], ev)
    waxy = dict(waxy_settings(ev))
    if (lora, strength) in waxy:
        notes.append(
            f"Skin at {strength:g} is smoother than any real photo reads against its set "
            f"({waxy[(lora, strength)]:.2f}x the smoothest training photo's cheek texture): if it looks "
            f"waxy, use a lower strength or an earlier checkpoint; {NOISE_OFFSET_INERT}."
        )
    higher = sorted(s for (name, s) in groups if name == lora and s > strength)
    for s in higher:
        group = groups[(lora, s)]
        problems = [r for c in group for r in c.overfit_reasons()] + [
            f"leakage on '{c.prompt_id}'" for c in group if c.leakage
        ]
        if (lora, s) in waxy:
            ratio = waxy[(lora, s)]
            problems.append(f"waxy skin ({ratio:.2f}x the smoothest training photo)")
        if problems:
            notes.append(f"At strength {s:g}: {'; '.join(sorted(set(problems)))}. Do not go that high.")
    if ev.dataset is not None and ev.dataset.has_problems:
        notes.append(
            f"The identity holds, but {ev.dataset.summary()}: fixing the dataset may let a lower strength "
            "or a shorter run work."
        )
    return notes


def _weak_note(ev: SweepEvidence, strength: float) -> str:
    beyond = strength > max(ev.design_strengths() or [1.2])
    text = (
        f"The identity only holds above strength 1.0 ({strength:g}"
        + (", beyond the evaluation protocol's 0.5-1.2 sweep" if beyond else "")
        + "): the LoRA is weak where you generate."
    )
    dtype = quantised_model(ev)
    if dtype:
        text += f" The sweep's MODEL holds {dtype} weights, which can round small LoRA deltas away."
    return text + f" {WEAK_IDENTITY.cause} -> train more steps or with a higher rank."


def _style_notes(cells: list[CellScore], ev: SweepEvidence) -> list[str]:
    notes = []
    for cell in cells:
        if cell.role == "style" and not cell.reaches_target and cell.similarity_mean is not None:
            notes.append(
                f"The style prompt '{cell.prompt_id}' stays below the style floor at {cell.strength:g} "
                f"({cell.similarity_mean:.2f} < {ev.thresholds.style_floor:.2f}): the identity may not "
                f"survive stylisation, or {ev.backend_name} does not recognise painted faces (face "
                "embedders are trained on photos). Check the grid by eye."
            )
    return notes
