"""Write a ``.safetensors`` file of random tensors one tensor at a time.

``safetensors.torch.save_file`` needs the whole state dict in memory; the full-size T5-XXL alone is
4.8 GB in fp8 (19 GB as the float32 it is drawn in). The format is simple enough to stream: an
8-byte little-endian header length, a JSON header mapping each name to dtype, shape and byte
offsets, then the raw little-endian tensor bytes in offset order. Peak memory is the largest single
tensor, in float32.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Sequence
from pathlib import Path

from .flux_layouts import NORMAL, ONES, ZEROS, TensorSpec

# our name -> (torch dtype attribute, safetensors dtype tag, bytes per element)
DTYPES: dict[str, tuple[str, str, int]] = {
    "fp32": ("float32", "F32", 4),
    "fp16": ("float16", "F16", 2),
    "bf16": ("bfloat16", "BF16", 2),
    "fp8": ("float8_e4m3fn", "F8_E4M3", 1),
}

_HEADER_ALIGN = 8


def _header_bytes(specs: Sequence[TensorSpec], dtype: str, metadata: dict[str, str]) -> bytes:
    tag, size = DTYPES[dtype][1], DTYPES[dtype][2]
    header: dict[str, object] = {"__metadata__": metadata}
    offset = 0
    for spec in specs:
        end = offset + spec.numel * size
        header[spec.name] = {"dtype": tag, "shape": list(spec.shape), "data_offsets": [offset, end]}
        offset = end
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    return raw + b" " * (-len(raw) % _HEADER_ALIGN)


def expected_file_size(specs: Sequence[TensorSpec], dtype: str, metadata: dict[str, str]) -> int:
    """The exact size the file written by :func:`write_random_safetensors` will have."""
    data = sum(s.numel for s in specs) * DTYPES[dtype][2]
    return 8 + len(_header_bytes(specs, dtype, metadata)) + data


def _random_tensor(spec: TensorSpec, generator):  # -> torch.Tensor
    import torch

    if spec.init == ZEROS:
        return torch.zeros(spec.shape)
    if spec.init == ONES:
        return torch.ones(spec.shape)
    if spec.init == NORMAL:
        return torch.randn(spec.shape, generator=generator).mul_(spec.std)
    raise ValueError(f"unknown init {spec.init!r} for tensor {spec.name}")


def write_random_safetensors(
    path: Path, specs: Sequence[TensorSpec], dtype: str, seed: int, metadata: dict[str, str]
) -> int:
    """Stream seeded random tensors to ``path`` (via a temporary file); return the bytes written.

    The same specs, dtype and seed always give the same bytes.
    """
    import torch

    torch_dtype = getattr(torch, DTYPES[dtype][0])
    header = _header_bytes(specs, dtype, metadata)
    generator = torch.Generator().manual_seed(seed)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with open(partial, "wb") as out:
            out.write(struct.pack("<Q", len(header)))
            out.write(header)
            for spec in specs:
                tensor = _random_tensor(spec, generator).to(torch_dtype).contiguous()
                out.write(tensor.reshape(-1).view(torch.uint8).numpy().data)
                del tensor
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path.stat().st_size
