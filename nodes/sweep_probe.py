"""StrengthSweep's probe beyond the sweep: when a LoRA's likeness still rises at the top strengths
and misses the target, 1.5 and 2.0 are sampled too, in the same queue, before anyone concludes
'undertrained'. The decision is ``identity_core.evaluation.probe``'s."""

from __future__ import annotations

from .comfy_glue.progress import is_interrupted
from .face_reference import References, load_face_backend
from .sweep_files import SweptFiles
from .sweep_sampling import Models, SweepPlan, sample_lora


def probe_beyond(
    sweep, plan: SweepPlan, models: Models, files: SweptFiles, references: References, backend_name: str
) -> str:
    """Add the probed images to ``sweep`` (and the decisions to its settings); say what was decided."""
    from ..identity_core.evaluation import Thresholds
    from ..identity_core.evaluation.probe import decide_probes

    if not references.photos():
        return "Not probed beyond the sweep: connect reference_dataset or reference_images (probe_beyond)."
    choice = load_face_backend(backend_name, "auto")
    reference = references.identity(choice.backend)
    thresholds = Thresholds.from_scale(choice.backend.scale)
    decisions = decide_probes(sweep, reference, choice.backend, thresholds, is_interrupted)
    sweep.settings["probes"] = [
        {"lora": d.lora_name, "strengths": list(d.strengths), "reason": d.reason} for d in decisions
    ]
    loras = {lora.name: lora for lora in files.loras}
    for decision in decisions:
        if decision.strengths:
            probe_plan = plan.narrowed(plan.specs, decision.strengths, plan.seeds)
            sweep.entries.extend(_sample_probe(probe_plan, models, loras[decision.lora_name], files.progress))
    return "\n".join(f"Probe ({choice.backend.name}): {d.reason}." for d in decisions)


def _sample_probe(plan: SweepPlan, models: Models, lora, progress) -> list:
    """The probe's images, the progress bar grown by them first."""
    progress.update_absolute(progress.current, progress.total + plan.images_per_lora * plan.steps)
    return sample_lora(plan, models, lora, progress, beyond_design=True)
