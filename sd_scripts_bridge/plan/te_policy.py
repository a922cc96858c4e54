"""The text-encoder policy of the design document (Section 5), decided before anything runs.

Section 5: do not train the text encoder when the trigger token is unique, the dataset has fewer
than ~15 images, or identity already appears clearly; train it only when asked, at 0.3-0.5 x the
UNet learning rate, for at most 50% of the steps, then frozen, and only with regularization.

* ``auto`` resolves to ``frozen``: whether identity is weak can only be judged after a first run,
  so TE training is never switched on by guesswork; a hint is added when the token is known to be
  ambiguous (the one case Section 5 names for TE training).
* ``two_phase`` is refused, not downgraded, when Section 5 rules it out (no regularization,
  a unique token, fewer than 15 images): the user asked for it explicitly, and a silent
  downgrade would hide that the run differs from the request (API users would never see a
  warning). The error says why and what to change.

sd-scripts cannot stop TE training mid-run (``--stop_text_encoder_training`` is train_db.py
only), so ``two_phase`` is two engine runs; see ``build.py`` for the exact flags.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import BridgeError

MIN_IMAGES_FOR_TE = 15
POLICIES = ("auto", "frozen", "two_phase")


class TextEncoderPolicyError(BridgeError):
    pass


@dataclass(frozen=True)
class TextEncoderDecision:
    mode: str  # "frozen" | "two_phase"
    reason: str
    te_learning_rate: float = 0.0
    phase1_steps: int = 0  # steps with the CLIP-L LoRA training (two_phase only)
    phase2_steps: int = 0  # the rest, TE frozen


def decide_text_encoder(
    policy: str,
    token_is_unique: bool | None,
    image_count: int,
    has_regularization: bool,
    learning_rate: float,
    te_lr_ratio: float,
    te_phase_fraction: float,
    max_train_steps: int,
) -> TextEncoderDecision:
    policy = policy.lower()
    if policy not in POLICIES:
        raise TextEncoderPolicyError(
            what=f"Unknown text-encoder policy {policy!r}", fix=f"choose one of: {', '.join(POLICIES)}"
        )
    if policy == "frozen":
        return TextEncoderDecision("frozen", "text encoder frozen as requested (Section 5)")
    if policy == "auto":
        return TextEncoderDecision("frozen", auto_reason(token_is_unique, image_count, has_regularization))
    refuse_two_phase_if_ruled_out(token_is_unique, image_count, has_regularization, max_train_steps)
    phase1 = max(1, math.floor(max_train_steps * te_phase_fraction))
    return TextEncoderDecision(
        mode="two_phase",
        reason=(
            f"text encoder (CLIP-L LoRA) trained for the first {phase1} of {max_train_steps} steps at "
            f"{te_lr_ratio:g} x the UNet learning rate, then frozen (Section 5 Rules)"
        ),
        te_learning_rate=learning_rate * te_lr_ratio,
        phase1_steps=phase1,
        phase2_steps=max_train_steps - phase1,
    )


def auto_reason(token_is_unique: bool | None, image_count: int, has_regularization: bool) -> str:
    reason = "auto: text encoder frozen (Section 5: train it only when identity stays weak after a run)"
    if token_is_unique is False and image_count >= MIN_IMAGES_FOR_TE and has_regularization:
        reason += (
            "; the trigger token is not unique, which Section 5 lists as a reason for TE training: "
            "if identity is weak, run again with te_policy=two_phase"
        )
    return reason


def refuse_two_phase_if_ruled_out(
    token_is_unique: bool | None, image_count: int, has_regularization: bool, max_train_steps: int
) -> None:
    if not has_regularization:
        raise TextEncoderPolicyError(
            what="Two-phase text-encoder training was asked for without regularization images",
            fix="add 20-50 regularization images of generic people (Section 5: regularization is required "
            "when training the text encoder), or use te_policy=frozen",
        )
    if token_is_unique:
        raise TextEncoderPolicyError(
            what="Two-phase text-encoder training was asked for, but the trigger token is unique",
            fix="use te_policy=frozen (Section 5: do not train the text encoder with a unique token)",
        )
    if image_count < MIN_IMAGES_FOR_TE:
        raise TextEncoderPolicyError(
            what=f"Two-phase text-encoder training was asked for with only {image_count} images",
            fix=f"use te_policy=frozen, or add images to reach {MIN_IMAGES_FOR_TE} "
            "(Section 5: do not train the text encoder on fewer than ~15 images)",
        )
    if max_train_steps < 2:
        raise TextEncoderPolicyError(
            what="Two-phase text-encoder training needs at least 2 steps",
            fix="raise max_train_steps or use te_policy=frozen",
        )
