"""Section 5 text-encoder policy: frozen by default, two engine runs when asked and allowed."""

from __future__ import annotations

import pytest

from sd_scripts_bridge.model import PhaseNetwork
from sd_scripts_bridge.plan.build import METADATA_PREFIX, build_plan
from sd_scripts_bridge.plan.te_policy import TextEncoderPolicyError, decide_text_encoder
from tests.sd_scripts_bridge import plan_builders as builders


def two_phase_request(tmp_path, **changes):
    values = dict(
        te_policy="two_phase",
        token_is_unique=False,
        regularization=builders.make_images(tmp_path / "reg", 20, "reg", None),
    )
    values.update(changes)
    return builders.make_request(tmp_path, **values)


def test_auto_is_frozen_with_network_train_unet_only(tmp_path):
    plan = build_plan(builders.make_request(tmp_path, te_policy="auto"), builders.make_engine(tmp_path))
    (phase,) = plan.phases
    assert "--network_train_unet_only" in phase.argv
    assert plan.settings["text_encoder"] == "frozen"


def test_auto_hints_at_two_phase_for_an_ambiguous_token():
    decision = decide_text_encoder("auto", False, 20, True, 1e-4, 0.4, 0.5, 1500)
    assert decision.mode == "frozen" and "two_phase" in decision.reason
    assert "two_phase" not in decide_text_encoder("auto", True, 20, True, 1e-4, 0.4, 0.5, 1500).reason


def test_two_phase_runs(tmp_path):
    plan = build_plan(two_phase_request(tmp_path), builders.make_engine(tmp_path))
    phase1, phase2 = plan.phases
    option = builders.option
    assert (phase1.name, phase2.name) == ("te_phase1", "te_phase2")
    # Phase 1: CLIP-L LoRA trains at 0.4 x the UNet LR for 50% of the steps. Two-phase needs
    # regularization, so the engine runs 3000 steps for the subject's 1500 (keep_subject_steps).
    assert "--network_train_unet_only" not in phase1.argv
    assert float(option(phase1.argv, "--text_encoder_lr")) == pytest.approx(0.4e-4)
    assert 0.3e-4 <= float(option(phase1.argv, "--text_encoder_lr")) <= 0.5e-4
    assert phase1.max_train_steps == 1500 and phase2.max_train_steps == 1500
    assert plan.total_steps == 3000 and plan.settings["subject_steps"] == 1500
    assert option(phase1.argv, "--max_train_steps") == "1500"
    # Phase 2: starts from phase 1's file, TE frozen by lr 0, never --network_train_unet_only.
    assert "--network_train_unet_only" not in phase2.argv
    assert option(phase2.argv, "--network_weights") == str(phase1.output_file)
    assert phase2.network_weights == phase1.output_file
    assert option(phase2.argv, "--text_encoder_lr") == "0"
    assert option(phase2.argv, "--lr_warmup_steps") == "0"
    assert phase2.output_name == "person_v1" and phase1.output_name == "person_v1_te_phase1"
    assert phase1.engine_log != phase2.engine_log
    assert option(phase1.argv, "--max_grad_norm") == option(phase2.argv, "--max_grad_norm") == "1.0"
    assert plan.metadata[METADATA_PREFIX + "text_encoder"] == "two_phase"
    assert plan.metadata[METADATA_PREFIX + "text_encoder_steps"] == "1500"
    # The runner and the LoRA checks read the same decisions from the phases' fields.
    assert phase1.network == PhaseNetwork(rank=32, text_encoder_lr=pytest.approx(0.4e-4))
    assert phase2.network == PhaseNetwork(rank=32, text_encoder_lr=0.0) and phase2.network.keeps_text_encoder
    assert phase1.network.has_text_encoder and not phase1.network.keeps_text_encoder


def test_final_two_phase_keeps_cosine_for_phase_2_and_warns(tmp_path):
    plan = build_plan(two_phase_request(tmp_path, profile="final"), builders.make_engine(tmp_path))
    phase1, phase2 = plan.phases
    assert builders.option(phase1.argv, "--lr_scheduler") == "constant_with_warmup"
    assert builders.option(phase1.argv, "--lr_warmup_steps") == "500"
    assert builders.option(phase2.argv, "--lr_scheduler") == "cosine"
    assert any("phase 2 cosine" in warning for warning in plan.warnings)


def test_te_ratio_and_fraction_overrides_stay_within_section_5(tmp_path):
    request = two_phase_request(tmp_path, overrides={"te_lr_ratio": 0.3, "te_phase_fraction": 0.2})
    phase1, phase2 = build_plan(request, builders.make_engine(tmp_path)).phases
    assert float(builders.option(phase1.argv, "--text_encoder_lr")) == pytest.approx(0.3e-4)
    assert (phase1.max_train_steps, phase2.max_train_steps) == (600, 2400)
    for bad in ({"te_lr_ratio": 0.6}, {"te_lr_ratio": 0.2}, {"te_phase_fraction": 0.7}):
        with pytest.raises(Exception, match="out of range"):
            build_plan(two_phase_request(tmp_path, overrides=bad), builders.make_engine(tmp_path))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"regularization": ()}, "without regularization"),
        ({"token_is_unique": True}, "trigger token is unique"),
        ({"images": "few"}, "only 10 images"),
    ],
)
def test_two_phase_is_refused_when_section_5_rules_it_out(tmp_path, changes, message):
    if changes.get("images") == "few":
        changes = {"images": builders.make_images(tmp_path / "few", 10)}
    with pytest.raises(TextEncoderPolicyError, match=message) as caught:
        build_plan(two_phase_request(tmp_path, **changes), builders.make_engine(tmp_path))
    assert "te_policy=frozen" in caught.value.fix or "regularization" in caught.value.fix


def test_unknown_policy_is_refused():
    with pytest.raises(TextEncoderPolicyError, match="auto, frozen, two_phase"):
        decide_text_encoder("sometimes", None, 20, True, 1e-4, 0.4, 0.5, 100)
