"""VRAM tiers: selection from detected VRAM, memory flags, measured speeds, numerics changes."""

from __future__ import annotations

import pytest

from sd_scripts_bridge.errors import BridgeError
from sd_scripts_bridge.tiers import (
    TIER_ORDER,
    TIERS,
    choose_tier,
    memory_settings,
    next_smaller_tier,
    tier_for_vram,
)


@pytest.mark.parametrize(
    ("vram_gib", "tier"),
    [
        (8.0, "12gb"),  # below every tier: the smallest one
        (11.6, "12gb"),  # RTX 3060 12GB
        (15.6, "16gb"),  # RTX 4080 16GB
        (23.6, "24gb"),  # RTX 4090
        (31.4, "24gb"),  # RTX 5090 32GB
        (47.4, "48gb"),  # RTX 6000 Ada 48GB
        (79.2, "80gb"),  # H100 80GB
        (139.8, "80gb"),  # H200
    ],
)
def test_auto_picks_from_detected_vram(vram_gib, tier):
    assert tier_for_vram(vram_gib).name == tier
    chosen, choice = choose_tier("auto", vram_gib, 512)
    assert chosen.name == tier == choice.name
    assert f"{vram_gib:.1f} GiB" in choice.reason


def test_next_smaller_tier():
    assert [next_smaller_tier(name) for name in TIER_ORDER] == [None, "12gb", "16gb", "24gb", "48gb"]
    with pytest.raises(BridgeError):
        next_smaller_tier("8gb")


def test_small_tiers_keep_design_settings_and_swap_blocks():
    for name, swap in (("12gb", 16), ("16gb", 8), ("24gb", 0)):
        memory = memory_settings(TIERS[name], 512)
        assert memory.fp8_base and memory.gradient_checkpointing
        assert memory.blocks_to_swap == swap


def test_large_tiers_use_bf16_without_checkpointing_at_512():
    for name in ("48gb", "80gb"):
        memory = memory_settings(TIERS[name], 512)
        assert not memory.fp8_base and not memory.gradient_checkpointing and memory.blocks_to_swap == 0


def test_final_resolution_turns_checkpointing_back_on_for_48gb():
    assert memory_settings(TIERS["48gb"], 768).gradient_checkpointing
    assert not memory_settings(TIERS["80gb"], 768).gradient_checkpointing


def test_expected_speed_from_the_measured_table():
    assert choose_tier("24gb", None, 512)[1].expected_sec_per_step == pytest.approx(1.22)
    assert choose_tier("12gb", None, 512)[1].expected_sec_per_step == pytest.approx(1.22)
    assert choose_tier("80gb", None, 512)[1].expected_sec_per_step == pytest.approx(0.55)
    slower = choose_tier("80gb", None, 768)[1]
    assert slower.expected_sec_per_step > 0.55 and "estimated" in slower.reason
    assert "measured" in choose_tier("80gb", None, 512)[1].reason


def test_numerics_changes_only_for_bf16_base():
    assert choose_tier("24gb", None, 512)[1].changes_numerics == ()
    (change,) = choose_tier("80gb", None, 512)[1].changes_numerics
    assert "bf16 instead of fp8" in change


def test_explicit_tier_overrides_auto():
    tier, choice = choose_tier("16gb", 79.2, 512)
    assert tier.name == "16gb" and "explicitly" in choice.reason


def test_cpu_runs_use_design_settings_without_block_swap():
    tier, choice = choose_tier("auto", None, 512, cpu=True)
    assert tier.name == "24gb" and "CPU" in choice.reason and choice.expected_sec_per_step is None
    assert memory_settings(TIERS["12gb"], 512, cpu=True).blocks_to_swap == 0


def test_unknown_vram_uses_design_settings():
    tier, choice = choose_tier("auto", None, 512)
    assert tier.name == "24gb" and "unknown" in choice.reason
