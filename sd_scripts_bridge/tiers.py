"""VRAM tiers: memory settings that fit the user's GPU, and how fast each one measured.

The design document's fp8 base and gradient checkpointing (Section 3 Precision & Memory) are
memory measures. Measured on one H100 80GB with the pinned engine at full FLUX.1-dev size (Fast
profile: 512 px, rank 32, batch 1; shared/notes/gpu_baseline.md):

    fp8 base + gradient checkpointing                    1.22 s/step  15.1 GB peak
    fp8 base + gradient checkpointing + 16 blocks swap   1.22 s/step  10.3 GB peak
    bf16 base, no gradient checkpointing                 0.55 s/step  40.8 GB peak

The small tiers keep the design document's settings and add block swapping where the engine's
own VRAM table asks for it (docs/flux_train_network.md 6.1: 16 GB "use --blocks_to_swap",
12 GB "--blocks_to_swap 16"). The large tiers drop fp8 and checkpointing, which changes
numerics (no fp8 quantisation of the base): that is reported in warnings and LoRA metadata.
The deprecated ``--split_mode`` is never used.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import BridgeError
from .model import TierChoice

# Tokens the DiT sees at 512 px in the measured runs: 1024 image + 512 T5 tokens.
MEASURED_RESOLUTION = 512
MEASURED_TOKENS = (MEASURED_RESOLUTION // 16) ** 2 + 512
MEASURED_ON = "one H100 80GB, full-size FLUX.1-dev, 512 px, rank 32, batch 1"


@dataclass(frozen=True)
class Tier:
    name: str
    min_vram_gib: float  # auto picks the largest tier whose minimum the detected VRAM reaches
    fp8_base: bool
    gradient_checkpointing: bool
    blocks_to_swap: int
    measured_sec_per_step: float | None  # at MEASURED_RESOLUTION, see module docstring
    measured_peak_gb: float | None
    source: str
    # Above this training resolution activations without checkpointing outgrow the card,
    # so checkpointing is switched back on (an estimate, see checkpointing_needed()).
    max_resolution_without_checkpointing: int | None = None


TIERS: dict[str, Tier] = {
    tier.name: tier
    for tier in (
        Tier(
            "12gb",
            min_vram_gib=10.0,
            fp8_base=True,
            gradient_checkpointing=True,
            blocks_to_swap=16,
            measured_sec_per_step=1.22,
            measured_peak_gb=10.3,
            source="engine VRAM table (12 GB: --blocks_to_swap 16); measured 10.3 GB peak with 16 blocks",
        ),
        Tier(
            "16gb",
            min_vram_gib=14.5,
            fp8_base=True,
            gradient_checkpointing=True,
            blocks_to_swap=8,
            measured_sec_per_step=1.22,
            measured_peak_gb=None,
            source="engine VRAM table (16 GB: use --blocks_to_swap); 8 blocks leaves ~2.4 GB headroom "
            "below the measured 15.1 GB (16 blocks saved 4.8 GB, ~0.3 GB each)",
        ),
        Tier(
            "24gb",
            min_vram_gib=22.0,
            fp8_base=True,
            gradient_checkpointing=True,
            blocks_to_swap=0,
            measured_sec_per_step=1.22,
            measured_peak_gb=15.1,
            source="design document Section 3 settings as they are; measured 15.1 GB peak",
        ),
        Tier(
            "48gb",
            min_vram_gib=44.0,
            fp8_base=False,
            gradient_checkpointing=False,
            blocks_to_swap=0,
            measured_sec_per_step=0.55,
            measured_peak_gb=40.8,
            source="measured: bf16 base without checkpointing, 40.8 GB peak, 2.2x faster than fp8 + "
            "checkpointing (checkpointing stays on above 512 px, estimated not to fit 48 GB otherwise)",
            max_resolution_without_checkpointing=512,
        ),
        Tier(
            "80gb",
            min_vram_gib=75.0,
            fp8_base=False,
            gradient_checkpointing=False,
            blocks_to_swap=0,
            measured_sec_per_step=0.55,
            measured_peak_gb=40.8,
            source="measured: bf16 base without checkpointing, 40.8 GB peak at 512 px (about 55 GB "
            "estimated at 768 px)",
            max_resolution_without_checkpointing=1024,
        ),
    )
}
TIER_ORDER = ("12gb", "16gb", "24gb", "48gb", "80gb")
CPU_TIER = "24gb"  # CPU runs: the design document's settings, no block swap (nothing to swap to)
FP8_CHECKPOINTING_SEC_PER_STEP = 1.22  # measured, used when a large tier turns checkpointing back on


class UnknownTierError(BridgeError):
    pass


def get_tier(name: str) -> Tier:
    try:
        return TIERS[name.lower()]
    except KeyError:
        raise UnknownTierError(
            what=f"There is no VRAM tier called {name!r}",
            fix=f"choose auto or one of: {', '.join(TIER_ORDER)}",
        ) from None


def next_smaller_tier(name: str) -> str | None:
    """The tier to try after running out of memory on ``name`` (None: already the smallest)."""
    index = TIER_ORDER.index(get_tier(name).name)
    return TIER_ORDER[index - 1] if index > 0 else None


def tier_for_vram(vram_gib: float) -> Tier:
    """The largest tier whose minimum the given VRAM reaches (the smallest tier below that)."""
    chosen = TIERS[TIER_ORDER[0]]
    for name in TIER_ORDER:
        if vram_gib >= TIERS[name].min_vram_gib:
            chosen = TIERS[name]
    return chosen


@dataclass(frozen=True)
class MemorySettings:
    """What the tier sets in the engine command."""

    fp8_base: bool
    gradient_checkpointing: bool
    blocks_to_swap: int


def checkpointing_needed(tier: Tier, resolution: int) -> bool:
    return tier.gradient_checkpointing or (
        tier.max_resolution_without_checkpointing is not None
        and resolution > tier.max_resolution_without_checkpointing
    )


def memory_settings(tier: Tier, resolution: int, cpu: bool = False) -> MemorySettings:
    return MemorySettings(
        fp8_base=tier.fp8_base,
        gradient_checkpointing=checkpointing_needed(tier, resolution),
        blocks_to_swap=0 if cpu else tier.blocks_to_swap,
    )


def expected_sec_per_step(tier: Tier, resolution: int) -> float | None:
    """Measured s/step for the tier's settings, scaled by sequence length above 512 px (estimate)."""
    base = tier.measured_sec_per_step
    if checkpointing_needed(tier, resolution) and not tier.gradient_checkpointing:
        base = FP8_CHECKPOINTING_SEC_PER_STEP  # checkpointing on; bf16 measured only without it
    if base is None:
        return None
    tokens = (resolution // 16) ** 2 + 512
    return round(base * max(1.0, tokens / MEASURED_TOKENS), 2)


def choose_tier(
    requested: str, detected_vram_gib: float | None, resolution: int, cpu: bool = False
) -> tuple[Tier, TierChoice]:
    """Pick the tier (``requested`` overrides ``auto``) and say why, how fast, and what changes numerics."""
    if requested.lower() != "auto":
        tier = get_tier(requested)
        reason = f"tier {tier.name} chosen explicitly"
        if detected_vram_gib is not None:
            reason += f" (the GPU has {detected_vram_gib:.1f} GiB)"
    elif cpu:
        tier = TIERS[CPU_TIER]
        reason = f"CPU run: tier {tier.name} settings (the design document's fp8 base + checkpointing)"
    elif detected_vram_gib is None:
        tier = TIERS["24gb"]
        reason = (
            "auto: GPU memory unknown (run `python -m sd_scripts_bridge doctor` or pass a tier), so the "
            "design document's settings (tier 24gb) are used"
        )
    else:
        tier = tier_for_vram(detected_vram_gib)
        reason = (
            f"auto: the GPU has {detected_vram_gib:.1f} GiB, tier {tier.name} needs at least "
            f"{tier.min_vram_gib:g} GiB"
        )
    memory = memory_settings(tier, resolution, cpu)
    reason += f"; {describe(memory)}; {tier.source}"
    speed = None if cpu else expected_sec_per_step(tier, resolution)
    if speed is not None:
        estimate = "measured" if resolution <= MEASURED_RESOLUTION else "estimated from"
        reason += f"; expected {speed} s/step ({estimate} {MEASURED_ON})"
    return tier, TierChoice(
        name=tier.name,
        reason=reason,
        expected_sec_per_step=speed,
        changes_numerics=numerics_changes(memory),
    )


def describe(memory: MemorySettings) -> str:
    parts = ["fp8 base" if memory.fp8_base else "bf16 base"]
    parts.append("gradient checkpointing" if memory.gradient_checkpointing else "no gradient checkpointing")
    if memory.blocks_to_swap:
        parts.append(f"{memory.blocks_to_swap} blocks swapped to CPU")
    return ", ".join(parts)


def numerics_changes(memory: MemorySettings) -> tuple[str, ...]:
    """Differences from the design document that change the trained numbers (not just memory/speed)."""
    if memory.fp8_base:
        return ()
    return (
        "base model weights kept in bf16 instead of fp8 (design document Section 3 uses --fp8_base): "
        "no fp8 quantisation of the frozen FLUX weights, so results differ slightly from an fp8 run",
    )
