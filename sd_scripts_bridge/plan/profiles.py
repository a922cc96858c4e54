"""The Fast and Final training profiles of the design document, as data, in one place.

Every value carries where it comes from: a section of the design document
(``identity_lora_defaults.md``), the engine's documentation, or a bridge decision with its
reason. Values the design document asks for that have no effect on FLUX in the pinned engine
(noise offset, min SNR gamma) stay here, marked inert with the reason, so the plan can report
them instead of silently dropping them. Memory settings (fp8 base, gradient checkpointing,
block swap) are the design document's here; ``tiers.py`` adapts them to the GPU.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import BridgeError
from ..model import PlanRequest

DOC = "design document"
ENGINE_DOCS = "sd-scripts docs/flux_train_network.md (recommended FLUX.1-dev settings)"

SUBJECT_STEPS_SOURCE = (
    f"{DOC} Section 4: the step count is what the subject images get. The engine repeats "
    "regularization images until they match subject images x repeats, so with regularization half "
    "of the engine's steps train the subject; the bridge then runs twice the steps (Final with priors: "
    "5000 engine steps, 2500 on the subject) instead of silently halving the identity training to "
    "about 1250 steps, fewer than the Fast profile's 1500. Set it to false to keep the engine steps "
    "as given; the plan then says how many steps the subject gets"
)

INERT_ON_FLUX = (
    "it has no effect on FLUX in sd-scripts v0.10.1: the FLUX trainer overrides the code path that "
    "applies it (verified: identical losses and a bit-identical LoRA with and without it), so the "
    "bridge does not pass it (the engine would only write it into the LoRA metadata as if it had acted)"
)


@dataclass(frozen=True)
class Setting:
    value: Any
    source: str  # where the value comes from (design-document section, engine docs, bridge reason)
    inert_reason: str | None = None  # set when the value does nothing for FLUX in the pinned engine

    @property
    def inert(self) -> bool:
        return self.inert_reason is not None


@dataclass(frozen=True)
class Profile:
    name: str
    purpose: str
    settings: Mapping[str, Setting]
    design_steps: tuple[int, int]  # the step range the design document gives

    def value(self, key: str) -> Any:
        return self.settings[key].value


def _common() -> dict[str, Setting]:
    """Values both profiles share (model plumbing and the engine's FLUX recipe)."""
    return {
        "mixed_precision": Setting("bf16", f"{DOC} Section 3 Precision & Memory"),
        "save_precision": Setting("bf16", "bridge: the LoRA is saved in the training precision"),
        "fp8_base": Setting(True, f"{DOC} Section 3 Precision & Memory (memory measure; tiers.py)"),
        "gradient_checkpointing": Setting(True, f"{DOC} Section 4 CLI scripts (memory measure; tiers.py)"),
        "blocks_to_swap": Setting(0, "bridge: none by default; tiers.py sets it for small GPUs"),
        "network_module": Setting("networks.lora_flux", "sd-scripts FLUX LoRA module"),
        "optimizer_type": Setting("adafactor", f"{DOC} Section 4.1/4.2 Core Settings"),
        "optimizer_args": Setting(
            ("relative_step=False", "scale_parameter=False", "warmup_init=False"),
            f"{DOC} Section 4.1 CLI Script; warmup_init=False added because warmup_init=True forces "
            "relative_step=True, which makes sd-scripts ignore the learning rate and scheduler",
        ),
        "learning_rate": Setting(1e-4, f"{DOC} Section 4.1 Core Settings / 4.2 High-Fidelity Config"),
        "max_grad_norm": Setting(
            1.0,
            "engine default, kept in every phase: Adafactor normalises updates by the gradients' RMS, "
            "so clipping rarely binds, and one value keeps the two TE phases comparable",
        ),
        "enable_bucket": Setting(True, f"{DOC} Section 4.1/4.2 (bucketing enabled)"),
        "bucket_reso_steps": Setting(64, "engine: FLUX requires a multiple of 64 (32 is rejected)"),
        "batch_size": Setting(1, "bridge: identity datasets are small; the measured tiers use batch 1"),
        "num_repeats": Setting(10, "bridge: repeats per epoch; steps are fixed by max_train_steps"),
        "shuffle_caption": Setting(False, "engine: required with cached text-encoder outputs"),
        "guidance_scale": Setting(1.0, ENGINE_DOCS),
        "timestep_sampling": Setting("flux_shift", ENGINE_DOCS),
        "model_prediction_type": Setting("raw", ENGINE_DOCS),
        "cache_latents_to_disk": Setting(True, "bridge: latents cached once next to the staged images"),
        "cache_text_encoder_outputs_to_disk": Setting(
            True, "bridge: frozen text encoders are encoded once, then deleted from memory"
        ),
        "max_data_loader_n_workers": Setting(2, "bridge: enough for cached inputs"),
        "t5xxl_max_token_length": Setting(None, "engine default (512 for dev)"),
        "prior_loss_weight": Setting(
            1.0, f"{DOC} Section 4.2 (prior regularization); passed only when regularization images exist"
        ),
        "text_encoder_lr": Setting(0.0, f"{DOC} Section 4.1 Core Settings (TE frozen) / Section 5"),
        "te_lr_ratio": Setting(0.4, f"{DOC} Section 5 Rules (TE LR 0.3-0.5 x UNet LR; middle value)"),
        "te_phase_fraction": Setting(0.5, f"{DOC} Section 5 Rules (TE trained for <= 50% of the steps)"),
        "keep_subject_steps": Setting(True, SUBJECT_STEPS_SOURCE),
    }


FAST = Profile(
    name="fast",
    purpose=f"{DOC} Section 4.1: validate the dataset, detect early overfit, under one hour",
    design_steps=(1500, 1500),
    settings={
        **_common(),
        "resolution": Setting(512, f"{DOC} Section 4.1 Core Settings"),
        "min_bucket_reso": Setting(256, f"{DOC} Section 4.1 CLI Script"),
        "max_bucket_reso": Setting(768, f"{DOC} Section 4.1 CLI Script"),
        "max_train_steps": Setting(
            1500, f"{DOC} Section 4.1 Core Settings (steps on the subject images; see keep_subject_steps)"
        ),
        "network_dim": Setting(32, f"{DOC} Section 4.1 Core Settings"),
        "network_alpha": Setting(32, f"{DOC} Section 4.1 Core Settings"),
        "network_dropout": Setting(None, f"{DOC} Section 4.1 (no dropout in the Fast profile)"),
        "lr_scheduler": Setting("constant_with_warmup", f"{DOC} Section 4.1 CLI Script"),
        "lr_warmup_steps": Setting(100, f"{DOC} Section 4.1 CLI Script"),
        "noise_offset": Setting(0.05, f"{DOC} Section 4.1 Core Settings", inert_reason=INERT_ON_FLUX),
    },
)

FINAL = Profile(
    name="final",
    purpose=f"{DOC} Section 4.2: maximum realism, strong identity lock, robust generalization",
    design_steps=(2000, 3000),
    settings={
        **_common(),
        "resolution": Setting(768, f"{DOC} Section 4.2 Core Settings"),
        "min_bucket_reso": Setting(384, f"{DOC} Section 4.2 High-Fidelity Config"),
        "max_bucket_reso": Setting(1024, f"{DOC} Section 4.2 High-Fidelity Config"),
        "max_train_steps": Setting(
            2500,
            f"{DOC} Section 4.2 Core Settings (2000-3000; middle value): steps on the subject images; with "
            "the recommended prior regularization the engine runs 5000, half of them on the priors "
            "(keep_subject_steps)",
        ),
        "network_dim": Setting(64, f"{DOC} Section 4.2 Core Settings"),
        "network_alpha": Setting(64, f"{DOC} Section 4.2 Core Settings"),
        "network_dropout": Setting(0.1, f"{DOC} Section 4.2 Core Settings"),
        "lr_scheduler": Setting("cosine", f"{DOC} Section 4.2 Core Settings"),
        "lr_warmup_steps": Setting(500, f"{DOC} Section 4.2 High-Fidelity Config"),
        "noise_offset": Setting(0.1, f"{DOC} Section 4.2 Core Settings", inert_reason=INERT_ON_FLUX),
        "min_snr_gamma": Setting(5.0, f"{DOC} Section 4.2 High-Fidelity Config", inert_reason=INERT_ON_FLUX),
    },
)

PROFILES: dict[str, Profile] = {profile.name: profile for profile in (FAST, FINAL)}


@dataclass(frozen=True)
class Bounds:
    """The values an override may take (checked before any process starts)."""

    kind: type
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    optional: bool = False  # None allowed

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.optional:
            return None
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, self.kind) or isinstance(value, bool) != (self.kind is bool):
            raise OverrideError(name, value, f"a {self.kind.__name__}")
        if isinstance(value, float) and not math.isfinite(value):
            raise OverrideError(name, value, "a finite number (not NaN or infinity)")
        if self.choices and value not in self.choices:
            raise OverrideError(name, value, "one of " + ", ".join(map(str, self.choices)))
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise OverrideError(name, value, f"between {self.low} and {self.high}")
        return value


OVERRIDABLE: dict[str, Bounds] = {
    "max_train_steps": Bounds(int, 1, 100_000),
    "learning_rate": Bounds(float, 1e-7, 1e-2),
    "network_dim": Bounds(int, 1, 512),
    "network_alpha": Bounds(float, 0.01, 512),
    "network_dropout": Bounds(float, 0.0, 0.9, optional=True),
    "lr_scheduler": Bounds(
        str, choices=("constant", "constant_with_warmup", "cosine", "cosine_with_restarts", "linear")
    ),
    "lr_warmup_steps": Bounds(int, 0, 100_000),
    "resolution": Bounds(int, 64, 2048),
    "min_bucket_reso": Bounds(int, 64, 2048),
    "max_bucket_reso": Bounds(int, 64, 4096),
    "num_repeats": Bounds(int, 1, 1000),
    "batch_size": Bounds(int, 1, 64),
    "prior_loss_weight": Bounds(float, 0.0, 10.0),
    "te_lr_ratio": Bounds(float, 0.3, 0.5),
    "te_phase_fraction": Bounds(float, 0.05, 0.5),
    "t5xxl_max_token_length": Bounds(int, 16, 512, optional=True),
    "max_data_loader_n_workers": Bounds(int, 0, 64),
    "max_grad_norm": Bounds(float, 0.0, 100.0),
    "keep_subject_steps": Bounds(bool),
}


class OverrideError(BridgeError):
    def __init__(self, name: str, value: Any, expected: str) -> None:
        super().__init__(
            what=f"The training setting {name}={value!r} is out of range",
            fix=f"use {expected} for {name}",
        )


class UnknownProfileError(BridgeError):
    pass


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name.lower()]
    except KeyError:
        raise UnknownProfileError(
            what=f"There is no training profile called {name!r}",
            fix=f"choose one of: {', '.join(PROFILES)}",
        ) from None


@dataclass(frozen=True)
class ResolvedProfile:
    """A request's profile, looked up by name, and its values with the request's overrides applied
    (``settings`` is never changed in place: the plan builds its own dict from it)."""

    profile: Profile
    settings: dict[str, Any]


def resolve_profile(request: PlanRequest) -> ResolvedProfile:
    """The one place a request's profile is looked up and resolved. The job does it once and hands
    the result to the request key and to every plan of the request (``build_plan``)."""
    profile = get_profile(request.profile)
    return ResolvedProfile(profile, resolve_settings(profile, request.overrides))


def resolve_settings(profile: Profile, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The profile's values with the user's overrides applied (each checked against its bounds)."""
    values = {key: setting.value for key, setting in profile.settings.items()}
    for key, value in overrides.items():
        if key not in OVERRIDABLE:
            raise BridgeError(
                what=f"The training setting {key!r} cannot be overridden",
                fix=f"use one of: {', '.join(sorted(OVERRIDABLE))}",
            )
        values[key] = OVERRIDABLE[key].check(key, value)
    values.update(dependent_settings(values, overrides))
    if values["min_bucket_reso"] > values["resolution"] or values["max_bucket_reso"] < values["resolution"]:
        raise BridgeError(
            what=(
                f"The bucket range {values['min_bucket_reso']}-{values['max_bucket_reso']} does not "
                f"contain the resolution {values['resolution']}"
            ),
            fix="set min_bucket_reso <= resolution <= max_bucket_reso",
        )
    for key in ("resolution", "min_bucket_reso", "max_bucket_reso"):
        if values[key] % values["bucket_reso_steps"]:
            raise OverrideError(
                key, values[key], f"a multiple of {values['bucket_reso_steps']} (engine rule)"
            )
    return values


def dependent_settings(values: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Settings that follow another one the user changed, unless the user set them too.

    The bucket range follows the resolution: a resolution outside the profile's range widens it
    just enough to contain the resolution (the profile's own range is kept otherwise), so a Fast
    run at 1024 px gets buckets 256-1024 rather than an error.
    """
    followed: dict[str, Any] = {}
    if "resolution" in overrides:
        resolution = values["resolution"]
        if "min_bucket_reso" not in overrides:
            followed["min_bucket_reso"] = min(values["min_bucket_reso"], resolution)
        if "max_bucket_reso" not in overrides:
            followed["max_bucket_reso"] = max(values["max_bucket_reso"], resolution)
    return followed


def inert_settings(profile: Profile) -> dict[str, Setting]:
    return {key: setting for key, setting in profile.settings.items() if setting.inert}
