"""Whether a sweep should go past the evaluation protocol's strengths (1.5, 2.0), decided in the sweep.

A LoRA often looks weaker in ComfyUI than in the trainer's samples and users raise it to 2-3;
a quantised (fp8) base can round small LoRA deltas away. So when likeness is still rising at
the top of the sweep and has not reached the identity target, 1.5 and 2.0 are probed before
anyone concludes "undertrained". StrengthSweep asks this right after sampling the design
strengths, with a cheap likeness: only the identity prompts' images at the two highest
strengths are scored, with the same face backend and reference as ArcFaceScore, so the whole
decision fits in one queue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..faces.model import FaceBackend
from .diagnose import likeness_by_strength, still_rising
from .evidence import SweepEvidence
from .model import Sweep
from .pipeline import measure_sweep, score_cells
from .prompts import PROBE_STRENGTHS, ROLE_IDENTITY
from .reference import ReferenceIdentity
from .thresholds import Thresholds


@dataclass(frozen=True)
class ProbeDecision:
    lora_name: str
    strengths: tuple[float, ...]  # strengths to add (empty: none)
    reason: str


def decide_probes(
    sweep: Sweep,
    reference: ReferenceIdentity,
    backend: FaceBackend,
    thresholds: Thresholds,
    should_cancel: Callable[[], bool] | None = None,
) -> list[ProbeDecision]:
    """One decision per LoRA in the sweep, from its identity images at the two top strengths."""
    return [
        _decide(lora, _top_of(sweep, lora), reference, backend, thresholds, should_cancel)
        for lora in sweep.lora_names()
    ]


def _top_of(sweep: Sweep, lora: str) -> Sweep:
    strengths = sorted({e.strength for e in sweep.entries if e.lora_name == lora and e.strength > 0})[-2:]
    entries = [
        e
        for e in sweep.entries
        if e.lora_name == lora and e.role == ROLE_IDENTITY and e.strength in strengths
    ]
    return Sweep(entries, sweep.trigger_token, sweep.class_word)


def _decide(lora, top: Sweep, reference, backend, thresholds, should_cancel) -> ProbeDecision:
    if len(top.strengths()) < 2:
        return ProbeDecision(lora, (), "fewer than two strengths above 0: no trend to read")
    measures = measure_sweep(top, reference, backend, should_cancel)
    evidence = SweepEvidence(score_cells(top, measures, reference, thresholds), thresholds, backend.name)
    points = likeness_by_strength(evidence, lora)
    trend = ", ".join(f"{s:g}: {m:.2f}" for s, m in points) or "no identity face measured"
    highest = top.strengths()[-1]
    probes = tuple(s for s in PROBE_STRENGTHS if s > highest)
    if probes and still_rising(evidence, lora):
        return ProbeDecision(
            lora,
            probes,
            f"likeness ({trend}) still rises and is below the target {thresholds.identity_target:.2f}: "
            f"probing {', '.join(f'{s:g}' for s in probes)}, beyond the evaluation protocol's sweep",
        )
    return ProbeDecision(lora, (), f"likeness ({trend}) does not call for probes beyond {highest:g}")
