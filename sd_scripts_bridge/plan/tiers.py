"""VRAM tiers: memory settings that fit the user's GPU, how fast and how large each one is.

The design document's fp8 base and gradient checkpointing (Section 3 Precision & Memory) are
memory measures. Measured on one H100 80GB with the pinned engine at full FLUX.1-dev size (Fast
profile: 512 px, rank 32, batch 1; shared/notes/gpu_baseline.md):

    fp8 base + gradient checkpointing                    1.22 s/step  15.1 GB peak
    fp8 base + gradient checkpointing + 16 blocks swap   1.22 s/step  10.3 GB peak
    bf16 base, no gradient checkpointing                 0.55 s/step  40.8 GB peak

The small tiers keep the design document's settings and add block swapping as the engine's own
VRAM table asks (docs/flux_train_network.md 6.1: 16 GB "use --blocks_to_swap", 12 GB
"--blocks_to_swap 16", 10 GB "--blocks_to_swap 22", 8 GB "--blocks_to_swap 28", fp8 T5-XXL below
12 GB). Peaks not measured are estimates: 15.1 GB less 0.3 GB per swapped block (16 blocks saved
4.8 GB). Speeds of swapping tiers other than 16 blocks are estimates too: 16 blocks cost nothing
measurable over the H100's host link, a consumer card's PCIe link is slower. The large tiers drop
fp8 and checkpointing, which changes numerics (no fp8 quantisation of the base): that is reported
in warnings and LoRA metadata. The deprecated ``--split_mode`` is never used.

``auto`` picks from the *free* VRAM (``DeviceReport.free_vram_gib``, measured after the host
unloaded its models): the largest tier whose ``min_free_vram_gib`` it reaches. Each minimum is the
tier's peak in GiB plus a margin (0.4-0.6 GiB on the swapping tiers; more above, where 768 px
Final runs add activations that were not measured); below the smallest tier, ``auto`` refuses.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import BridgeError
from ..model import DeviceReport, TierChoice

# Tokens the DiT sees at 512 px in the measured runs: 1024 image + 512 T5 tokens.
MEASURED_RESOLUTION = 512
MEASURED_TOKENS = (MEASURED_RESOLUTION // 16) ** 2 + 512
MEASURED_GPU = "one H100 80GB"
MEASURED_ON = f"{MEASURED_GPU}, full-size FLUX.1-dev, 512 px, rank 32, batch 1"
PEAK_WITHOUT_SWAP_GB = 15.1  # measured, fp8 base + checkpointing
GB_SAVED_PER_SWAPPED_BLOCK = 0.3  # measured: 16 swapped blocks saved 4.8 GB
FP8_CHECKPOINTING_SEC_PER_STEP = 1.22  # measured: fp8 base + checkpointing, with or without 16 swapped


def swap_peak_estimate(blocks: int) -> float:
    """Estimated peak VRAM (GB) of fp8 + checkpointing with ``blocks`` swapped to the CPU."""
    return round(PEAK_WITHOUT_SWAP_GB - GB_SAVED_PER_SWAPPED_BLOCK * blocks, 1)


@dataclass(frozen=True)
class Tier:
    name: str
    min_free_vram_gib: float  # auto picks the largest tier whose minimum the free VRAM reaches
    fp8_base: bool
    gradient_checkpointing: bool
    blocks_to_swap: int
    sec_per_step: float | None  # at MEASURED_RESOLUTION on MEASURED_GPU
    sec_per_step_measured: bool  # False: an estimate (see speed_note)
    peak_vram_gb: float | None  # at MEASURED_RESOLUTION
    peak_measured: bool
    source: str
    # Above this training resolution activations without checkpointing outgrow the card,
    # so checkpointing is switched back on (an estimate, see checkpointing_needed()).
    max_resolution_without_checkpointing: int | None = None
    speed_note: str = ""  # why an estimated speed is what it is


SWAP_SPEED_NOTE = (
    "the 16-block swap measured as fast as no swap on the H100's host link; more swapped blocks "
    "over a consumer PCIe link are slower, by an amount not measured"
)


def _estimated_swap_tier(name: str, min_free_vram_gib: float, blocks: int, source: str) -> Tier:
    """A design-settings tier with a swap that was not measured: peak and speed are estimates."""
    speed, peak = FP8_CHECKPOINTING_SEC_PER_STEP, swap_peak_estimate(blocks)
    # fp8 base and checkpointing on; speed and peak estimated (measured False)
    return Tier(
        name, min_free_vram_gib, True, True, blocks, speed, False, peak, False, source, None, SWAP_SPEED_NOTE
    )


TIERS: dict[str, Tier] = {
    tier.name: tier
    for tier in (
        _estimated_swap_tier("8gb", 6.8, 28, "engine VRAM table (8 GB: --blocks_to_swap 28, fp8 T5-XXL)"),
        _estimated_swap_tier("10gb", 8.5, 22, "engine VRAM table (10 GB: --blocks_to_swap 22, fp8 T5-XXL)"),
        Tier(
            "12gb",
            min_free_vram_gib=10.0,
            fp8_base=True,
            gradient_checkpointing=True,
            blocks_to_swap=16,
            sec_per_step=FP8_CHECKPOINTING_SEC_PER_STEP,
            sec_per_step_measured=True,
            peak_vram_gb=10.3,
            peak_measured=True,
            source="engine VRAM table (12 GB: --blocks_to_swap 16)",
        ),
        _estimated_swap_tier("16gb", 14.0, 8, "engine VRAM table (16 GB: use --blocks_to_swap); 8 blocks"),
        Tier(
            "24gb",
            min_free_vram_gib=20.0,
            fp8_base=True,
            gradient_checkpointing=True,
            blocks_to_swap=0,
            sec_per_step=FP8_CHECKPOINTING_SEC_PER_STEP,
            sec_per_step_measured=True,
            peak_vram_gb=PEAK_WITHOUT_SWAP_GB,
            peak_measured=True,
            source="design document Section 3 settings as they are",
        ),
        Tier(
            "48gb",
            min_free_vram_gib=44.0,
            fp8_base=False,
            gradient_checkpointing=False,
            blocks_to_swap=0,
            sec_per_step=0.55,
            sec_per_step_measured=True,
            peak_vram_gb=40.8,
            peak_measured=True,
            source="bf16 base without checkpointing, 2.2x faster than fp8 + checkpointing "
            "(checkpointing stays on above 512 px, estimated not to fit 48 GB otherwise)",
            max_resolution_without_checkpointing=512,
        ),
        Tier(
            "80gb",
            min_free_vram_gib=75.0,
            fp8_base=False,
            gradient_checkpointing=False,
            blocks_to_swap=0,
            sec_per_step=0.55,
            sec_per_step_measured=True,
            peak_vram_gb=40.8,
            peak_measured=True,
            source="bf16 base without checkpointing (about 55 GB estimated at 768 px)",
            max_resolution_without_checkpointing=1024,
        ),
    )
}
TIER_ORDER = ("8gb", "10gb", "12gb", "16gb", "24gb", "48gb", "80gb")
CPU_TIER = "24gb"  # CPU runs: the design document's settings, no block swap (nothing to swap to)


class UnknownTierError(BridgeError):
    pass


class VramTooSmallError(BridgeError):
    """``auto`` found less free VRAM than the smallest tier needs."""

    def __init__(self, device: DeviceReport) -> None:
        smallest = TIERS[TIER_ORDER[0]]
        gpu = device.gpu_name or "the GPU"
        measured = f" ({device.measured_by})" if device.measured_by else ""
        super().__init__(
            what=(
                f"{gpu} has {device.free_vram_gib:.1f} GiB of VRAM free{measured}, and the smallest VRAM "
                f"tier ({smallest.name}: {describe(memory_settings(smallest, MEASURED_RESOLUTION))}) needs "
                f"at least {smallest.min_free_vram_gib:g} GiB (its peak is about {smallest.peak_vram_gb} GB, "
                "an estimate)"
            ),
            fix=(
                "close the other programs that use the GPU (nvidia-smi lists them) and queue again, or train "
                "on a GPU with 8 GB or more; choosing a tier explicitly skips this check at your own risk"
            ),
        )


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


def tier_for_free_vram(free_vram_gib: float) -> Tier | None:
    """The largest tier whose minimum the free VRAM reaches (None: below the smallest)."""
    chosen = None
    for name in TIER_ORDER:
        if free_vram_gib >= TIERS[name].min_free_vram_gib:
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
    """The tier's s/step, scaled by sequence length above 512 px (an estimate there)."""
    base = tier.sec_per_step
    if checkpointing_needed(tier, resolution) and not tier.gradient_checkpointing:
        base = FP8_CHECKPOINTING_SEC_PER_STEP  # checkpointing on; bf16 measured only without it
    if base is None:
        return None
    tokens = (resolution // 16) ** 2 + 512
    return round(base * max(1.0, tokens / MEASURED_TOKENS), 2)


def speed_basis(tier: Tier, resolution: int, gpu_name: str | None) -> str:
    """Where the expected s/step comes from: the GPU it was measured on, or why it is an estimate."""
    if not tier.sec_per_step_measured:
        basis = f"estimate from {MEASURED_ON}: {tier.speed_note}"
    elif resolution > MEASURED_RESOLUTION:
        basis = f"estimate: measured on {MEASURED_ON}, scaled by the sequence length at {resolution} px"
    else:
        basis = f"measured on {MEASURED_ON}"
    if gpu_name and "H100" not in gpu_name:
        basis += f"; {gpu_name} was not measured"
    return basis


def peak_basis(tier: Tier) -> str:
    if tier.peak_measured:
        return f"measured on {MEASURED_ON}"
    return (
        f"estimate: {PEAK_WITHOUT_SWAP_GB} GB measured without swap less "
        f"{GB_SAVED_PER_SWAPPED_BLOCK} GB per swapped block"
    )


def choose_tier(
    requested: str, device: DeviceReport | None, resolution: int, cpu: bool = False
) -> tuple[Tier, TierChoice]:
    """Pick the tier (``requested`` overrides ``auto``) and say why, how fast, and what changes numerics.

    Raises :class:`VramTooSmallError` when ``auto`` finds less free VRAM than the smallest tier needs.
    """
    free = device.free_vram_gib if device is not None else None
    if requested.lower() != "auto":
        tier = get_tier(requested)
        reason = f"tier {tier.name} chosen explicitly"
        if free is not None:
            reason += f" ({free:.1f} GiB of VRAM free)"
    elif cpu:
        tier = TIERS[CPU_TIER]
        reason = f"CPU run: tier {tier.name} settings (the design document's fp8 base + checkpointing)"
    elif free is None:
        tier = TIERS["24gb"]
        reason = (
            "auto: GPU memory unknown (run `python -m sd_scripts_bridge doctor` or pass a tier), so the "
            "design document's settings (tier 24gb) are used"
        )
    else:
        tier = tier_for_free_vram(free)
        if tier is None:
            raise VramTooSmallError(device)
        measured = f" ({device.measured_by})" if device.measured_by else ""
        reason = (
            f"auto: {free:.1f} GiB of VRAM free{measured}, tier {tier.name} needs at least "
            f"{tier.min_free_vram_gib:g} GiB free"
        )
    memory = memory_settings(tier, resolution, cpu)
    reason += f"; {describe(memory)}; {tier.source}"
    speed = None if cpu else expected_sec_per_step(tier, resolution)
    basis = "" if speed is None else speed_basis(tier, resolution, device.gpu_name if device else None)
    if speed is not None:
        reason += f"; expected {speed} s/step ({basis})"
    if tier.peak_vram_gb is not None and not cpu:
        reason += f"; peak VRAM about {tier.peak_vram_gb} GB at 512 px ({peak_basis(tier)})"
    return tier, TierChoice(
        name=tier.name,
        reason=reason,
        expected_sec_per_step=speed,
        changes_numerics=numerics_changes(memory),
        speed_basis=basis,
        peak_vram_gb=tier.peak_vram_gb,
        peak_basis=peak_basis(tier) if tier.peak_vram_gb is not None else "",
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
