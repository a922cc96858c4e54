"""Profiles: the design document's values, each traceable to its section; overrides with bounds."""

from __future__ import annotations

import pytest

from sd_scripts_bridge.errors import BridgeError
from sd_scripts_bridge.plan.profiles import (
    FAST,
    FINAL,
    OVERRIDABLE,
    PROFILES,
    get_profile,
    resolve_profile,
    resolve_settings,
)
from tests.sd_scripts_bridge.plan_builders import make_request

# The design document's tables (identity_lora_defaults.md, Sections 3, 4.1, 4.2).
FAST_TABLE = {
    "resolution": 512, "max_train_steps": 1500, "network_dim": 32, "network_alpha": 32,
    "optimizer_type": "adafactor", "learning_rate": 1e-4, "text_encoder_lr": 0.0,
    "lr_scheduler": "constant_with_warmup", "lr_warmup_steps": 100, "mixed_precision": "bf16",
    "fp8_base": True, "enable_bucket": True, "min_bucket_reso": 256, "max_bucket_reso": 768,
    "noise_offset": 0.05, "gradient_checkpointing": True,
}  # fmt: skip
FINAL_TABLE = {
    "resolution": 768, "network_dim": 64, "network_alpha": 64, "network_dropout": 0.1,
    "optimizer_type": "adafactor", "learning_rate": 1e-4, "lr_scheduler": "cosine", "lr_warmup_steps": 500,
    "mixed_precision": "bf16", "fp8_base": True, "enable_bucket": True, "min_bucket_reso": 384,
    "max_bucket_reso": 1024, "noise_offset": 0.1, "min_snr_gamma": 5.0, "gradient_checkpointing": True,
}  # fmt: skip


@pytest.mark.parametrize(("profile", "table"), [(FAST, FAST_TABLE), (FINAL, FINAL_TABLE)])
def test_values_match_the_design_document(profile, table):
    for key, value in table.items():
        assert profile.value(key) == value, key


def test_final_steps_in_the_design_range():
    low, high = FINAL.design_steps
    assert (low, high) == (2000, 3000) and low <= FINAL.value("max_train_steps") <= high
    assert FAST.design_steps == (1500, 1500)


def test_every_value_names_its_source():
    for profile in PROFILES.values():
        for key, setting in profile.settings.items():
            assert setting.source.strip(), key
    assert "Section 4.1" in FAST.settings["lr_warmup_steps"].source
    assert "Section 4.2" in FINAL.settings["network_dropout"].source
    assert "Section 3" in FAST.settings["fp8_base"].source


def test_adafactor_uses_the_given_learning_rate():
    args = FAST.value("optimizer_args")
    assert args == ("relative_step=False", "scale_parameter=False", "warmup_init=False")


def test_inert_values_are_marked_with_a_reason():
    assert FAST.settings["noise_offset"].inert and FINAL.settings["min_snr_gamma"].inert
    assert "no effect on FLUX" in FINAL.settings["noise_offset"].inert_reason
    assert not FAST.settings["learning_rate"].inert


def test_engine_rules_in_the_profile():
    assert FAST.value("bucket_reso_steps") == 64
    assert FAST.value("shuffle_caption") is False
    assert (FAST.value("timestep_sampling"), FAST.value("model_prediction_type")) == ("flux_shift", "raw")
    assert FAST.value("guidance_scale") == 1.0


def test_overrides_are_bounded_and_checked():
    values = resolve_settings(FINAL, {"max_train_steps": 3000, "network_alpha": 32})
    assert values["max_train_steps"] == 3000 and values["network_alpha"] == 32.0
    assert FINAL.value("max_train_steps") == 2500  # the profile itself is not changed
    with pytest.raises(BridgeError, match="out of range"):
        resolve_settings(FAST, {"max_train_steps": True})
    with pytest.raises(BridgeError, match="cannot be overridden"):
        resolve_settings(FAST, {"noise_offset": 0.2})
    with pytest.raises(BridgeError, match="bucket range"):
        resolve_settings(FAST, {"resolution": 1024, "max_bucket_reso": 768})
    assert set(OVERRIDABLE) <= set(FAST.settings)


def test_the_bucket_range_follows_an_overridden_resolution():
    wider = resolve_settings(FAST, {"resolution": 1024})
    assert (wider["min_bucket_reso"], wider["resolution"], wider["max_bucket_reso"]) == (256, 1024, 1024)
    smaller = resolve_settings(FINAL, {"resolution": 320})
    assert (smaller["min_bucket_reso"], smaller["max_bucket_reso"]) == (320, 1024)
    inside = resolve_settings(FINAL, {"resolution": 512})
    assert (inside["min_bucket_reso"], inside["max_bucket_reso"]) == (384, 1024)
    chosen = resolve_settings(FAST, {"resolution": 1024, "max_bucket_reso": 1536})
    assert chosen["max_bucket_reso"] == 1536


def test_profile_names():
    assert get_profile("Final") is FINAL
    with pytest.raises(BridgeError, match="fast, final"):
        get_profile("slow")


def test_a_request_resolves_its_profile_by_name_with_its_overrides(tmp_path):
    resolved = resolve_profile(make_request(tmp_path, profile="Final", overrides={"max_train_steps": 3000}))
    assert resolved.profile is FINAL
    assert resolved.settings == resolve_settings(FINAL, {"max_train_steps": 3000})
    with pytest.raises(BridgeError, match="fast, final"):
        resolve_profile(make_request(tmp_path, profile="slow"))


def test_the_step_count_is_the_subjects_and_the_regularization_budget_says_why():
    for profile in (FAST, FINAL):
        assert profile.value("keep_subject_steps") is True
        assert "steps on the subject images" in profile.settings["max_train_steps"].source
    source = FINAL.settings["keep_subject_steps"].source
    assert "half" in source and "regularization" in source and "5000" in source
    assert resolve_settings(FINAL, {"keep_subject_steps": False})["keep_subject_steps"] is False
    with pytest.raises(BridgeError):
        resolve_settings(FINAL, {"keep_subject_steps": "no"})
