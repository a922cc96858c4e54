"""How a LoRA was trained, read from its file's metadata and key layout."""

import pytest

from identity_core.evaluation.training_run import TrainingRun

OURS = {
    "identity_lora_profile": "final",
    "identity_lora_text_encoder": "two_phase",
    "identity_lora_text_encoder_steps": "1250",
    "identity_lora_base_precision": "fp8",
    "identity_lora_subject_steps": "2500",
    "identity_lora_regularization_images": "30",
    "ss_steps": "5000",
    "ss_network_dim": "64",
    "ss_network_dropout": "0.1",
}


def test_our_keys_and_the_engines_are_read():
    run = TrainingRun.from_file("a.safetensors", OURS, has_text_encoder_weights=True)
    assert (run.text_encoder, run.text_encoder_steps, run.steps, run.subject_steps) == (
        "two_phase",
        1250,
        5000,
        2500,
    )
    assert (run.rank, run.dropout, run.profile, run.regularization_images) == (64, 0.1, "final", 30)
    assert run.base_precision == "fp8" and run.text_encoder_was_trained is True
    assert run.describe() == (
        "text encoder two-phase (trained 1250 steps, then frozen), 5000 steps (2500 on the subject, the rest "
        "on regularization images), rank 64, final profile, 30 regularization images, fp8 base while training"
    )


@pytest.mark.parametrize(
    ("metadata", "has_weights", "expected"),
    [
        ({"identity_lora_text_encoder": "frozen"}, None, "frozen"),
        ({}, False, "frozen"),  # no lora_te* keys: the text encoder was not trained
        ({"ss_text_encoder_lr": "0.0"}, True, "frozen"),  # modules saved, never learned
        ({"ss_text_encoder_lr": "[5e-05]"}, True, "trained"),
        ({}, True, "trained"),
        ({}, None, "unknown"),
    ],
)
def test_the_text_encoder_state_rests_on_evidence(metadata, has_weights, expected):
    assert TrainingRun.from_file("a", metadata, has_weights).text_encoder == expected


def test_engine_only_metadata_halves_the_subject_steps_with_regularization():
    engine = {"ss_steps": "2500", "ss_num_reg_images": "40", "ss_fp8_base": "True", "ss_network_dim": "32"}
    run = TrainingRun.from_file("b", engine, has_text_encoder_weights=False)
    assert (run.steps, run.subject_steps, run.regularization_images, run.base_precision) == (
        2500,
        1250,
        40,
        "fp8",
    )
    plain = TrainingRun.from_file("c", {"ss_max_train_steps": "1500", "ss_num_reg_images": "0"}, False)
    assert (plain.steps, plain.subject_steps) == (1500, 1500)


def test_a_file_without_metadata_claims_nothing():
    run = TrainingRun.from_file("d", {}, None)
    assert run == TrainingRun.unknown("d")
    assert run.text_encoder_was_trained is None and run.describe() == "text encoder unknown"
