"""VRAM tiers: the choice from the free VRAM of a (fake) device report, memory flags, the speed and
peak with what they were measured on (or that they are estimates), numerics changes, the refusal."""

from __future__ import annotations

import pytest

from sd_scripts_bridge.errors import BridgeError
from sd_scripts_bridge.model import DeviceReport
from sd_scripts_bridge.plan.tiers import (
    TIER_ORDER,
    TIERS,
    VramTooSmallError,
    choose_tier,
    memory_settings,
    next_smaller_tier,
    tier_for_free_vram,
)


def free(gib: float, name: str | None = None, total: float | None = None) -> DeviceReport:
    """A fake device report, as ComfyUI's or the engine's probe would give it."""
    return DeviceReport(
        free_vram_gib=gib,
        total_vram_gib=total,
        gpu_name=name,
        measured_by="after ComfyUI unloaded its models",
    )


@pytest.mark.parametrize(
    ("free_gib", "tier"),
    [
        (7.2, "8gb"),  # an 8 GB card with its CUDA context
        (9.1, "10gb"),  # RTX 3080 10GB
        (11.2, "12gb"),  # RTX 3060 12GB after ComfyUI unloaded its models
        (15.0, "16gb"),  # RTX 4080 16GB
        (22.4, "24gb"),  # RTX 4090 with a desktop on it
        (31.0, "24gb"),  # RTX 5090 32GB
        (46.5, "48gb"),  # RTX 6000 Ada 48GB
        (78.6, "80gb"),  # H100 80GB
        (139.0, "80gb"),  # H200
    ],
)
def test_auto_picks_from_the_free_vram(free_gib, tier):
    assert tier_for_free_vram(free_gib).name == tier
    chosen, choice = choose_tier("auto", free(free_gib), 512)
    assert chosen.name == tier == choice.name
    assert f"{free_gib:.1f} GiB of VRAM free (after ComfyUI unloaded its models)" in choice.reason


def test_the_free_vram_decides_not_the_card_size():
    """A 24 GB card with another program holding 10 GiB trains on the tier that fits what is free."""
    busy_card = free(13.4, "NVIDIA GeForce RTX 4090", total=23.6)
    chosen, choice = choose_tier("auto", busy_card, 512)
    assert chosen.name == "12gb" and chosen.blocks_to_swap == 16
    assert "13.4 GiB of VRAM free" in choice.reason


def test_below_the_smallest_tier_auto_refuses_with_the_reason():
    with pytest.raises(VramTooSmallError) as refused:
        choose_tier("auto", free(5.1, "NVIDIA GeForce GTX 1660"), 512)
    message = str(refused.value)
    assert "NVIDIA GeForce GTX 1660 has 5.1 GiB of VRAM free" in message
    assert "8gb" in message and "28 blocks swapped" in message and "6.8 GiB" in message
    assert "an estimate" in message and "close the other programs" in refused.value.fix
    tier, _ = choose_tier("8gb", free(5.1), 512)  # an explicit tier is the user's call
    assert tier.name == "8gb"


def test_tiers_reach_down_to_the_engines_table():
    assert TIER_ORDER == ("8gb", "10gb", "12gb", "16gb", "24gb", "48gb", "80gb")
    swaps = {name: TIERS[name].blocks_to_swap for name in TIER_ORDER}
    assert swaps == {"8gb": 28, "10gb": 22, "12gb": 16, "16gb": 8, "24gb": 0, "48gb": 0, "80gb": 0}
    for name in ("8gb", "10gb", "12gb", "16gb"):
        assert "engine VRAM table" in TIERS[name].source
    minimums = [TIERS[name].min_free_vram_gib for name in TIER_ORDER]
    assert minimums == sorted(minimums)
    for name in TIER_ORDER:  # every minimum leaves room above the tier's own peak (GB -> GiB)
        tier = TIERS[name]
        assert tier.min_free_vram_gib > tier.peak_vram_gb * 1e9 / 2**30


def test_next_smaller_tier():
    assert [next_smaller_tier(name) for name in TIER_ORDER] == [
        None,
        "8gb",
        "10gb",
        "12gb",
        "16gb",
        "24gb",
        "48gb",
    ]
    with pytest.raises(BridgeError):
        next_smaller_tier("6gb")


def test_small_tiers_keep_design_settings_and_swap_blocks():
    for name in ("8gb", "10gb", "12gb", "16gb", "24gb"):
        memory = memory_settings(TIERS[name], 512)
        assert memory.fp8_base and memory.gradient_checkpointing
        assert memory.blocks_to_swap == TIERS[name].blocks_to_swap


def test_large_tiers_use_bf16_without_checkpointing_at_512():
    for name in ("48gb", "80gb"):
        memory = memory_settings(TIERS[name], 512)
        assert not memory.fp8_base and not memory.gradient_checkpointing and memory.blocks_to_swap == 0


def test_final_resolution_turns_checkpointing_back_on_for_48gb():
    assert memory_settings(TIERS["48gb"], 768).gradient_checkpointing
    assert not memory_settings(TIERS["80gb"], 768).gradient_checkpointing


def test_expected_speed_names_the_gpu_it_was_measured_on():
    choice = choose_tier("24gb", free(22.0, "NVIDIA H100 80GB HBM3"), 512)[1]
    assert choice.expected_sec_per_step == pytest.approx(1.22)
    assert choice.speed_basis == "measured on one H100 80GB, full-size FLUX.1-dev, 512 px, rank 32, batch 1"
    on_another_card = choose_tier("24gb", free(22.0, "NVIDIA GeForce RTX 4090"), 512)[1]
    assert on_another_card.speed_basis.endswith("; NVIDIA GeForce RTX 4090 was not measured")
    assert "expected 1.22 s/step (measured on one H100 80GB" in on_another_card.reason
    assert choose_tier("80gb", None, 512)[1].expected_sec_per_step == pytest.approx(0.55)


def test_estimates_are_labelled_as_estimates():
    slower = choose_tier("80gb", None, 768)[1]
    assert slower.expected_sec_per_step > 0.55 and slower.speed_basis.startswith("estimate:")
    for name in ("8gb", "10gb", "16gb"):
        choice = choose_tier(name, None, 512)[1]
        assert choice.speed_basis.startswith("estimate from one H100 80GB")
        assert "PCIe" in choice.speed_basis
        assert (
            choice.peak_basis.startswith("estimate:") and f"about {choice.peak_vram_gb} GB" in choice.reason
        )
    assert choose_tier("10gb", None, 512)[1].peak_vram_gb == pytest.approx(8.5)
    assert choose_tier("8gb", None, 512)[1].peak_vram_gb == pytest.approx(6.7)
    measured = choose_tier("12gb", None, 512)[1]
    assert measured.peak_vram_gb == 10.3 and measured.peak_basis.startswith("measured on one H100")


def test_numerics_changes_only_for_bf16_base():
    assert choose_tier("24gb", None, 512)[1].changes_numerics == ()
    (change,) = choose_tier("80gb", None, 512)[1].changes_numerics
    assert "bf16 instead of fp8" in change


def test_explicit_tier_overrides_auto():
    tier, choice = choose_tier("16gb", free(79.2), 512)
    assert tier.name == "16gb" and "explicitly" in choice.reason and "79.2 GiB of VRAM free" in choice.reason


def test_cpu_runs_use_design_settings_without_block_swap():
    tier, choice = choose_tier("auto", None, 512, cpu=True)
    assert tier.name == "24gb" and "CPU" in choice.reason and choice.expected_sec_per_step is None
    assert memory_settings(TIERS["8gb"], 512, cpu=True).blocks_to_swap == 0


def test_unknown_vram_uses_design_settings():
    for device in (None, DeviceReport(gpu_name="NVIDIA GeForce RTX 3060")):
        tier, choice = choose_tier("auto", device, 512)
        assert tier.name == "24gb" and "unknown" in choice.reason
