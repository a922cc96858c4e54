"""Likeness while training runs: the engine's sample images scored as they appear.

TrainIdentityLoRA asks the engine to sample fixed prompts at every checkpoint: the neutral
portrait and new-environment prompts of the evaluation protocol, two fixed seeds each (Section
7's identity prompts at strength 1.0: the coarse pass over checkpoints), the pose probe, and the
user's own preview prompt when one is set. Each sample is scored against the reference photos
with the face backend, and its checkpoint's point on the likeness curve is updated (likeness,
face rate, the seeds' diversity and copy signals: ``coarse_likeness``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..faces.model import FaceBackend
from .coarse_likeness import COARSE_SEEDS, CoarseLikeness
from .likeness_curve import LikenessCurve, LikenessPoint
from .measure import measure_image
from .pose_probe import PROBE_PROMPT_ID, ROLE_POSE_PROBE, PoseProbe
from .prompts import DEFAULT_PROMPTS_TEXT, ROLE_IDENTITY, parse_prompts
from .reference import ReferenceIdentity
from .thresholds import Thresholds

LIKENESS_PROMPT_IDS = ("portrait", "environment")
LIKENESS_SEEDS = COARSE_SEEDS
ROLE_PREVIEW = "preview"


@dataclass(frozen=True)
class SamplePrompt:
    """What one prompt of the engine's sample prompt file is for."""

    index: int  # its position in the file: the engine's ``_NN_`` in the sample's file name
    prompt_id: str
    role: str  # identity, pose_probe or preview
    text: str
    seed: int


def likeness_prompts(
    token: str, class_word: str, seed: int, probe: PoseProbe | None = None, preview: str = ""
) -> list[SamplePrompt]:
    """The sample prompts in file order: identity prompts x seeds, the pose probe, the preview."""
    specs = {spec.prompt_id: spec for spec in parse_prompts(DEFAULT_PROMPTS_TEXT)}
    prompts: list[SamplePrompt] = []
    for prompt_id in LIKENESS_PROMPT_IDS:
        for offset in range(LIKENESS_SEEDS):
            text = specs[prompt_id].render(token, class_word)
            prompts.append(SamplePrompt(len(prompts), prompt_id, ROLE_IDENTITY, text, seed + offset))
    if probe is not None:
        text = probe.spec.render(token, class_word)
        prompts.append(SamplePrompt(len(prompts), PROBE_PROMPT_ID, ROLE_POSE_PROBE, text, seed))
    if preview.strip():
        prompts.append(SamplePrompt(len(prompts), "preview", ROLE_PREVIEW, preview.strip(), seed))
    return prompts


class LiveLikeness:
    """Scores sample images into a :class:`LikenessCurve`, one point per checkpoint step.

    A sample is kept per (step, prompt index): a resumed run samples the steps after its state
    again, and the newer image replaces the older one instead of counting twice.
    """

    def __init__(
        self,
        backend: FaceBackend,
        reference: ReferenceIdentity,
        prompts: list[SamplePrompt],
        probe: PoseProbe | None = None,
    ) -> None:
        self.backend = backend
        self.reference = reference
        self.prompts = {prompt.index: prompt for prompt in prompts}
        self.probe = probe
        self._coarse = CoarseLikeness(Thresholds.from_scale(backend.scale), backend.name)

    @property
    def curve(self) -> LikenessCurve:
        return self._coarse.curve

    @property
    def identity_samples_per_step(self) -> int:
        return sum(prompt.role == ROLE_IDENTITY for prompt in self.prompts.values())

    def add_sample(self, step: int, index: int, image: np.ndarray) -> LikenessPoint | None:
        """Score one sample; None when it is the user's preview (not part of the curve)."""
        prompt = self.prompts.get(index)
        if prompt is None or prompt.role == ROLE_PREVIEW:
            return None
        measure = measure_image(image, self.backend, self.reference)
        if prompt.role == ROLE_IDENTITY:
            return self._coarse.add_identity(step, prompt.prompt_id, prompt.seed, measure)
        if prompt.role == ROLE_POSE_PROBE and self.probe is not None:
            return self._coarse.add_pose_probe(step, self.probe, measure)
        return self.curve.point(step)

    def is_complete(self, step: int) -> bool:
        """Every identity prompt of ``step`` was scored."""
        point = self.curve.get(step)
        return point is not None and point.samples >= self.identity_samples_per_step
