"""``--set``: shortcuts to the inputs of every node that has them, and explicit values."""

from __future__ import annotations

import pytest

from workflows.api_client.errors import SetError
from workflows.api_client.shortcuts import apply_settings, available_shortcuts, parse_value

PACK_WORKFLOW = {
    "1": {"class_type": "DatasetCheck", "inputs": {"folder": "", "profile": "fast"}},
    "2": {"class_type": "CaptionTokenizer", "inputs": {"dataset": ["1", 0], "trigger_token": "ohwx"}},
    "3": {"class_type": "TrainIdentityLoRA", "inputs": {"dataset": ["2", 0], "steps": 0, "profile": "fast"}},
    "4": {"class_type": "StrengthSweep", "inputs": {"trigger_token": "ohwx", "steps": 20}},
    "5": {"class_type": "StrengthSweep", "inputs": {"trigger_token": ["9", 0]}},
}


def test_shortcuts_map_to_every_node_the_workflow_has():
    shortcuts = available_shortcuts(PACK_WORKFLOW)
    assert shortcuts["dataset"] == [("1", "folder")]
    assert shortcuts["token"] == [("2", "trigger_token"), ("4", "trigger_token")]  # not the linked one
    assert shortcuts["profile"] == [("1", "profile"), ("3", "profile")]
    assert shortcuts["steps"] == [("3", "steps")]  # training steps, not the sweep's sampling steps
    assert "lora" not in shortcuts  # no StrengthSweep with a lora_name input here
    updated = apply_settings(
        PACK_WORKFLOW, ["dataset=/photos/anna", "steps=1200", "profile=final", "token=zkw"]
    )
    assert updated["1"]["inputs"] == {"folder": "/photos/anna", "profile": "final"}
    assert updated["3"]["inputs"] == {"dataset": ["2", 0], "steps": 1200, "profile": "final"}
    assert updated["2"]["inputs"]["trigger_token"] == updated["4"]["inputs"]["trigger_token"] == "zkw"
    assert updated["5"]["inputs"]["trigger_token"] == ["9", 0]
    assert updated["4"]["inputs"]["steps"] == 20
    assert PACK_WORKFLOW["3"]["inputs"]["steps"] == 0  # the loaded workflow is not changed


def test_shortcut_without_its_node_is_refused_with_the_valid_keys():
    with pytest.raises(SetError) as refusal:
        apply_settings(PACK_WORKFLOW, ["lora=anna.safetensors"])
    message = str(refusal.value)
    assert "no StrengthSweep node with an input named lora_name/lora" in message
    assert "dataset (dataset folder)" in message and "token (trigger token)" in message


def test_values_are_json_when_they_parse():
    assert parse_value("12") == 12
    assert parse_value("0.8") == 0.8
    assert parse_value("true") is True
    assert parse_value("[0.5, 1.0]") == [0.5, 1.0]
    assert parse_value('{"lr_warmup_steps": 1}') == '{"lr_warmup_steps": 1}'  # JSON text for a STRING
    assert parse_value("ohwx") == "ohwx"
    assert parse_value("/photos/anna") == "/photos/anna"
