"""Check a kohya-format FLUX LoRA file and read or rewrite its metadata.

Key layout (``/work/shared/notes/sd_scripts.md`` §4): every module ``lora_unet_*`` /
``lora_te1_*`` / ``lora_te3_*`` has ``.lora_down.weight`` (rank, in), ``.lora_up.weight``
(out, rank) and ``.alpha`` (scalar). FLUX double blocks carry 10 modules, single blocks 3, the
CLIP-L encoder 72 (12 layers x 6).

Finiteness is checked on the raw bits of every floating-point value (numpy, imported inside the
function), and two files' tensors are compared byte for byte, so no check loads torch. Metadata is
rewritten at the byte level (the safetensors header is replaced, tensor bytes are copied
unchanged), so publishing never loads the tensors and never changes a weight.
"""

from __future__ import annotations

import importlib
import json
import re
import struct
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .errors import BadLoRAFileError
from .model import PhaseNetwork

PARTS = ("lora_down.weight", "lora_up.weight", "alpha")
HIDDEN = 3072
CLIP_HIDDEN = 768
# (in_features, out_features) of each FLUX module a LoRA is attached to.
DOUBLE_BLOCK_MODULES = {
    f"{side}_{name}": shape
    for side in ("img", "txt")
    for name, shape in {
        "attn_qkv": (HIDDEN, 3 * HIDDEN),
        "attn_proj": (HIDDEN, HIDDEN),
        "mlp_0": (HIDDEN, 4 * HIDDEN),
        "mlp_2": (4 * HIDDEN, HIDDEN),
        "mod_lin": (HIDDEN, 6 * HIDDEN),
    }.items()
}
SINGLE_BLOCK_MODULES = {
    "linear1": (HIDDEN, 7 * HIDDEN),
    "linear2": (5 * HIDDEN, HIDDEN),
    "modulation_lin": (HIDDEN, 3 * HIDDEN),
}
CLIP_LAYERS = 12
CLIP_LAYER_MODULES = {
    "self_attn_q_proj": (CLIP_HIDDEN, CLIP_HIDDEN),
    "self_attn_k_proj": (CLIP_HIDDEN, CLIP_HIDDEN),
    "self_attn_v_proj": (CLIP_HIDDEN, CLIP_HIDDEN),
    "self_attn_out_proj": (CLIP_HIDDEN, CLIP_HIDDEN),
    "mlp_fc1": (CLIP_HIDDEN, 4 * CLIP_HIDDEN),
    "mlp_fc2": (4 * CLIP_HIDDEN, CLIP_HIDDEN),
}

_DOUBLE_RE = re.compile(r"^lora_unet_double_blocks_(\d+)_(.+)$")
_SINGLE_RE = re.compile(r"^lora_unet_single_blocks_(\d+)_(.+)$")
_BASE_DOUBLE_RE = re.compile(r"(?:^|\.)double_blocks\.(\d+)\.img_attn\.proj\.bias$")
_BASE_SINGLE_RE = re.compile(r"(?:^|\.)single_blocks\.(\d+)\.modulation\.lin\.bias$")


@dataclass(frozen=True)
class LoRAExpectation:
    """What a file made by a given phase should hold (None: not known, not checked)."""

    rank: int | None = None
    unet: bool = True
    text_encoder: bool = False
    double_blocks: int | None = None
    single_blocks: int | None = None


@dataclass
class LoRAReport:
    path: Path
    modules: dict[str, dict[str, tuple[int, ...]]] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def tensor_count(self) -> int:
        return sum(len(parts) for parts in self.modules.values())


def expected_unet_modules(double_blocks: int, single_blocks: int) -> dict[str, tuple[int, int]]:
    names: dict[str, tuple[int, int]] = {}
    for index in range(double_blocks):
        for name, shape in DOUBLE_BLOCK_MODULES.items():
            names[f"lora_unet_double_blocks_{index}_{name}"] = shape
    for index in range(single_blocks):
        for name, shape in SINGLE_BLOCK_MODULES.items():
            names[f"lora_unet_single_blocks_{index}_{name}"] = shape
    return names


def expected_clip_modules() -> dict[str, tuple[int, int]]:
    return {
        f"lora_te1_text_model_encoder_layers_{layer}_{name}": shape
        for layer in range(CLIP_LAYERS)
        for name, shape in CLIP_LAYER_MODULES.items()
    }


FLUX_DOUBLE_BLOCKS, FLUX_SINGLE_BLOCKS = 19, 38  # FLUX.1-dev and schnell


def estimated_lora_bytes(rank: int, bytes_per_weight: int = 2) -> int:
    """A full-size FLUX.1 LoRA file of ``rank`` with the CLIP-L modules (a bound for a disk budget):
    ``rank x (in + out)`` weights per module, bf16 (2 bytes) as the engine saves them."""
    modules = {**expected_unet_modules(FLUX_DOUBLE_BLOCKS, FLUX_SINGLE_BLOCKS), **expected_clip_modules()}
    return rank * sum(fan_in + fan_out for fan_in, fan_out in modules.values()) * bytes_per_weight


def expectation_for(network: PhaseNetwork, base_model: Path) -> LoRAExpectation:
    """What a phase that trains ``network`` on the FLUX file ``base_model`` should write: its rank,
    whether it holds a CLIP-L LoRA, and the base model's block counts (read from its key names)."""
    blocks = base_model_block_counts(Path(base_model))
    return LoRAExpectation(
        rank=network.rank,
        unet=True,
        text_encoder=network.has_text_encoder,
        double_blocks=blocks[0] if blocks else None,
        single_blocks=blocks[1] if blocks else None,
    )


def read_header(path: Path) -> tuple[dict, int]:
    """The safetensors JSON header and the byte offset where tensor data starts."""
    with path.open("rb") as handle:
        raw_length = handle.read(8)
        if len(raw_length) != 8:
            raise ValueError("file is shorter than a safetensors header")
        (length,) = struct.unpack("<Q", raw_length)
        if length > 100_000_000:
            raise ValueError(f"header length {length} is not plausible")
        header = json.loads(handle.read(length))
    return header, 8 + length


def is_complete_file(path: Path) -> bool:
    """Whether ``path`` is a whole safetensors file: its size is exactly what its header describes
    (the engine writes the header, then the tensors in order, so a file still being written, or
    cut off, is shorter)."""
    try:
        header, data_start = read_header(path)
        size = path.stat().st_size
    except (OSError, ValueError):
        return False
    header.pop("__metadata__", None)
    try:
        data_end = max((int(info["data_offsets"][1]) for info in header.values()), default=0)
    except (KeyError, TypeError, ValueError, IndexError):
        return False
    return size == data_start + data_end


def read_metadata(path: Path) -> dict[str, str]:
    header, _ = read_header(path)
    return dict(header.get("__metadata__") or {})


def base_model_block_counts(path: Path) -> tuple[int, int] | None:
    """(double, single) block counts of a FLUX base file, read from its key names only."""
    try:
        header, _ = read_header(path)
    except (OSError, ValueError):
        return None
    doubles = [int(m.group(1)) for key in header if (m := _BASE_DOUBLE_RE.search(key))]
    singles = [int(m.group(1)) for key in header if (m := _BASE_SINGLE_RE.search(key))]
    if not doubles and not singles:
        return None
    return (max(doubles, default=-1) + 1, max(singles, default=-1) + 1)


def inspect_lora(path: Path, expect: LoRAExpectation | None = None, check_values: bool = True) -> LoRAReport:
    """Read the file's keys (and values, with ``check_values``) and list every problem found."""
    report = LoRAReport(path=path)
    try:
        header, data_start = read_header(path)
    except (OSError, ValueError) as error:
        report.problems.append(f"cannot be read as safetensors ({error})")
        return report
    report.metadata = dict(header.pop("__metadata__", None) or {})
    data_end = max((info.get("data_offsets", (0, 0))[1] for info in header.values()), default=0)
    size = path.stat().st_size
    if size < data_start + data_end:
        report.problems.append(f"it is truncated ({size} of {data_start + data_end} bytes)")
        return report
    for key, info in header.items():
        module, _, part = key.partition(".")
        report.modules.setdefault(module, {})[part] = tuple(info.get("shape", ()))
    report.problems.extend(_layout_problems(report.modules, expect or LoRAExpectation()))
    if check_values and not report.problems:
        report.problems.extend(_non_finite_problems(path))
    return report


def check_lora(
    path: Path,
    expect: LoRAExpectation | None = None,
    log_path: Path | None = None,
    log_tail: Sequence[str] = (),
    check_values: bool = True,
) -> LoRAReport:
    """Raise :class:`BadLoRAFileError` unless the file is a complete, finite kohya FLUX LoRA."""
    if not path.is_file():
        raise BadLoRAFileError(path, "the file does not exist", log_path=log_path, log_tail=log_tail)
    report = inspect_lora(path, expect, check_values=check_values)
    if report.problems:
        fix = "do not use this file; check the engine log, fix the cause and train again"
        if any("non-finite" in problem for problem in report.problems):
            fix = "the training diverged: lower the learning rate and train in bf16, then train again"
        raise BadLoRAFileError(
            path, "; ".join(report.problems[:5]), fix=fix, log_path=log_path, log_tail=log_tail
        )
    return report


def _layout_problems(modules: dict[str, dict[str, tuple[int, ...]]], expect: LoRAExpectation) -> list[str]:
    problems: list[str] = []
    if not modules:
        return ["it holds no tensors"]
    unknown = [name for name in modules if not name.startswith(("lora_unet_", "lora_te1_", "lora_te3_"))]
    if unknown:
        problems.append(f"{len(unknown)} keys are not kohya LoRA keys (first: {unknown[0]})")
    incomplete = [name for name, parts in modules.items() if set(parts) != set(PARTS)]
    if incomplete:
        problems.append(
            f"{len(incomplete)} modules lack lora_down/lora_up/alpha (first: {incomplete[0]}: "
            f"has {sorted(modules[incomplete[0]])})"
        )
    problems.extend(_missing_module_problems(modules, expect))
    problems.extend(_shape_problems(modules, expect.rank))
    return problems


def _missing_module_problems(
    modules: dict[str, dict[str, tuple[int, ...]]], expect: LoRAExpectation
) -> list[str]:
    problems: list[str] = []
    unet_names = [name for name in modules if name.startswith("lora_unet_")]
    te_names = [name for name in modules if name.startswith("lora_te1_")]
    if expect.unet:
        doubles = expect.double_blocks
        singles = expect.single_blocks
        if doubles is None:
            doubles = _block_count(unet_names, _DOUBLE_RE)
        if singles is None:
            singles = _block_count(unet_names, _SINGLE_RE)
        wanted = expected_unet_modules(doubles, singles)
        problems.extend(_diff("FLUX (lora_unet_)", wanted, unet_names))
        if not unet_names:
            problems.append("it has no lora_unet_ modules")
    if expect.text_encoder:
        problems.extend(_diff("CLIP-L (lora_te1_)", expected_clip_modules(), te_names))
    return problems


def _block_count(names: Iterable[str], pattern: re.Pattern[str]) -> int:
    indices = [int(m.group(1)) for name in names if (m := pattern.match(name))]
    return max(indices, default=-1) + 1


def _diff(label: str, wanted: dict[str, tuple[int, int]], present: Sequence[str]) -> list[str]:
    missing = sorted(set(wanted) - set(present))
    if not missing:
        return []
    return [f"{len(missing)} {label} modules are missing (first: {missing[0]})"]


def _shape_problems(modules: dict[str, dict[str, tuple[int, ...]]], rank: int | None) -> list[str]:
    known = {**DOUBLE_BLOCK_MODULES, **SINGLE_BLOCK_MODULES, **CLIP_LAYER_MODULES}
    for name, parts in modules.items():
        down = parts.get("lora_down.weight")
        up = parts.get("lora_up.weight")
        if down is None or up is None:
            continue
        if len(down) != 2 or len(up) != 2 or down[0] != up[1]:
            return [f"{name} has inconsistent shapes down {down} / up {up}"]
        if rank is not None and down[0] != rank:
            return [f"{name} has rank {down[0]}, expected network_dim {rank}"]
        suffix = _module_suffix(name)
        if suffix in known and (down[1], up[0]) != known[suffix]:
            return [f"{name} has shape in/out {(down[1], up[0])}, expected {known[suffix]}"]
    return []


def _module_suffix(name: str) -> str:
    for pattern in (_DOUBLE_RE, _SINGLE_RE):
        match = pattern.match(name)
        if match:
            return match.group(2)
    match = re.match(r"^lora_te1_text_model_encoder_layers_\d+_(.+)$", name)
    return match.group(1) if match else ""


# Bits that are all ones only in NaN and infinity, per floating-point dtype of safetensors (the
# exponent; for F8_E4M3, which has no infinity, the exponent and mantissa of its one NaN pattern).
NON_FINITE_BITS = {
    "F64": ("<u8", 0x7FF0_0000_0000_0000),
    "F32": ("<u4", 0x7F80_0000),
    "F16": ("<u2", 0x7C00),
    "BF16": ("<u2", 0x7F80),
    "F8_E5M2": ("u1", 0x7C),
    "F8_E4M3": ("u1", 0x7F),
}
CHUNK_BYTES = 16 * 1024 * 1024


def load_value_check_in_background() -> threading.Thread:
    """Import what the value check needs (numpy) on a thread of its own.

    The runner calls this while the engine trains, so the import (a few hundred milliseconds in the
    ``train`` CLI; nothing in ComfyUI, which has numpy loaded) is not added to the run's wall time.
    The thread is not a daemon: an early exit waits for the import instead of cutting it off.
    """
    thread = threading.Thread(target=importlib.import_module, args=("numpy",), name="load-value-check")
    thread.start()
    return thread


def _non_finite_problems(path: Path) -> list[str]:
    """Tensors holding NaN or infinity, read from the file's bytes.

    A value is not finite exactly when all of its dtype's exponent bits are set, so the check is a
    bit mask over the raw values in chunks (numpy, no torch: the ``train`` CLI never imports torch,
    whose import cost seconds here).
    """
    header, data_start = read_header(path)
    header.pop("__metadata__", None)
    bad = [key for key, info in header.items() if _holds_non_finite(path, data_start, info)]
    if bad:
        return [f"{len(bad)} tensors hold non-finite values (NaN/inf; first: {bad[0]})"]
    return []


def _holds_non_finite(path: Path, data_start: int, info: dict) -> bool:
    import numpy as np

    bits = NON_FINITE_BITS.get(str(info.get("dtype")))
    if bits is None:  # integer and bool tensors are always finite
        return False
    dtype, mask = np.dtype(bits[0]), bits[1]
    begin, end = (int(offset) for offset in info["data_offsets"])
    step = CHUNK_BYTES - CHUNK_BYTES % dtype.itemsize
    with path.open("rb") as handle:
        for start in range(data_start + begin, data_start + end, step):
            handle.seek(start)
            values = np.frombuffer(handle.read(min(step, data_start + end - start)), dtype=dtype)
            if np.any((values & dtype.type(mask)) == mask):
                return True
    return False


def differing_tensors(first: Path, second: Path, prefix: str) -> list[str]:
    """Keys starting with ``prefix`` whose tensors differ between two files, bit for bit (or exist in
    one only, or differ in dtype or shape)."""
    header_a, start_a = read_header(first)
    header_b, start_b = read_header(second)
    keys_a = {key for key in header_a if key.startswith(prefix)}
    keys_b = {key for key in header_b if key.startswith(prefix)}
    differing = sorted(keys_a ^ keys_b)
    with first.open("rb") as a, second.open("rb") as b:
        for key in sorted(keys_a & keys_b):
            info_a, info_b = header_a[key], header_b[key]
            same_kind = (info_a["dtype"], info_a["shape"]) == (info_b["dtype"], info_b["shape"])
            if not same_kind or _tensor_bytes(a, start_a, info_a) != _tensor_bytes(b, start_b, info_b):
                differing.append(key)
    return differing


def _tensor_bytes(handle: BinaryIO, data_start: int, info: dict) -> bytes:
    begin, end = (int(offset) for offset in info["data_offsets"])
    handle.seek(data_start + begin)
    return handle.read(end - begin)


def write_with_metadata(source: Path, target: BinaryIO, metadata: dict[str, str]) -> None:
    """Copy ``source`` to the open binary file ``target`` with its metadata replaced by ``metadata``.

    Only the JSON header changes; the tensor bytes are streamed unchanged. The header is padded
    with spaces to a multiple of 8 bytes, as the safetensors library writes it.
    """
    header, data_start = read_header(source)
    header.pop("__metadata__", None)
    new_header = {"__metadata__": {str(k): str(v) for k, v in metadata.items()}, **header}
    encoded = json.dumps(new_header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    target.write(struct.pack("<Q", len(encoded)))
    target.write(encoded)
    with source.open("rb") as handle:
        handle.seek(data_start)
        while chunk := handle.read(16 * 1024 * 1024):
            target.write(chunk)


def same_tensors(first: Path, second: Path) -> bool:
    """Whether two safetensors files hold the same tensors byte for byte (metadata aside)."""
    header_a, start_a = read_header(first)
    header_b, start_b = read_header(second)
    header_a.pop("__metadata__", None)
    header_b.pop("__metadata__", None)
    if header_a != header_b:
        return False
    with first.open("rb") as a, second.open("rb") as b:
        a.seek(start_a)
        b.seek(start_b)
        while True:
            chunk_a, chunk_b = a.read(16 * 1024 * 1024), b.read(16 * 1024 * 1024)
            if chunk_a != chunk_b:
                return False
            if not chunk_a:
                return True
