"""The server owner's limits: node inputs can only lower them."""

from __future__ import annotations

import json

import pytest

from identity_core.access import ServerSettings, read_settings
from identity_core.access.owner_limits import checkpoint_interval, process_count, ram_check
from identity_core.errors import IdentityError


def test_the_ram_check_stays_on_when_the_owner_wants_it():
    assert ram_check(False, ServerSettings()).value is True
    assert "server owner requires" in ram_check(False, ServerSettings()).note
    assert ram_check(False, ServerSettings(ram_check=False)).value is False
    assert ram_check(True, ServerSettings(ram_check=False)).value is True


def test_processes_are_clamped_to_the_gpus_present_and_the_owners_cap():
    assert process_count(16, 2, ServerSettings()).value == 2
    assert process_count(16, 0, ServerSettings()).value == 1  # a CPU run
    assert process_count(4, 8, ServerSettings(max_processes=3)).value == 3
    assert process_count(4, 0, ServerSettings(max_processes=2)).value == 2
    assert process_count(2, 8, ServerSettings()).note == ""
    assert "lowered to 2 (2 GPU(s) present)" in process_count(16, 2, ServerSettings()).note


def test_checkpoints_are_spaced_to_the_owners_count_and_disk_budget():
    settings = ServerSettings(max_kept_checkpoints=20, checkpoint_disk_gb=40.0)
    assert checkpoint_interval(250, 5000, 600_000_000, 3_700_000_000, settings).value == 250
    every = checkpoint_interval(1, 100_000, 300_000_000, 1_000_000_000, settings)
    assert every.value == 5000 and "raised to 5000" in every.note  # 20 checkpoints at most
    tight = checkpoint_interval(1, 100, 1_000_000_000, 1_000_000_000, ServerSettings(checkpoint_disk_gb=6.0))
    assert tight.value == 25  # (6 GB - 2 states) / 1 GB: 4 checkpoints
    assert checkpoint_interval(0, 100_000, 1, 1, settings).value == 0
    with pytest.raises(IdentityError, match="do not fit the server owner's checkpoint disk budget"):
        checkpoint_interval(10, 100, 1_000_000_000, 5_000_000_000, ServerSettings(checkpoint_disk_gb=8.0))


def test_the_settings_file_holds_the_owner_limits(tmp_path):
    settings_file = tmp_path / "owner.json"
    settings_file.write_text(
        json.dumps(
            {
                "writable_roots": ["/data/writable"],
                "ram_check": False,
                "max_processes": 2,
                "max_kept_checkpoints": 5,
                "checkpoint_disk_budget_gb": 12,
            }
        )
    )
    settings = read_settings(tmp_path / "pack", {"IDENTITY_LORA_SETTINGS": str(settings_file)})
    assert settings.ram_check is False and settings.max_processes == 2
    assert (settings.max_kept_checkpoints, settings.checkpoint_disk_gb) == (5, 12.0)
    assert [str(p) for p in settings.readable_roots] == ["/data/writable"]
    for bad in ({"ram_check": "no"}, {"max_processes": 0}, {"checkpoint_disk_budget_gb": "NaN"}, [1]):
        settings_file.write_text(json.dumps(bad))
        with pytest.raises(IdentityError, match="settings file cannot be read"):
            read_settings(tmp_path / "pack", {"IDENTITY_LORA_SETTINGS": str(settings_file)})
