"""A random-weight FLUX.1-dev model set that the real engine and ComfyUI both load.

Four files, made from the static layouts in :mod:`devkit.flux_layouts` with fixed seeds:

====== ============================================ ======== =========== ===========
part   file                                         dtype    params      size
====== ============================================ ======== =========== ===========
dit    random_flux1_dev_1d1s_bf16.safetensors        bf16     545.5M      1.02 GiB
ae     random_flux_ae_fp32.safetensors               fp32     83.8M       0.31 GiB
clip_l random_clip_l_fp16.safetensors                fp16     123.1M      0.23 GiB
t5xxl  random_t5xxl_fp8_e4m3fn.safetensors           fp8      4,762.3M    4.44 GiB
====== ============================================ ======== =========== ===========

The DiT is full width with 1 double + 1 single block (both loaders read the block counts from the
file; everything else is fixed). T5-XXL cannot be shrunk, so it is full size in float8_e4m3fn, which
the engine's ``--fp8_base`` uses as-is. ``full_size=True`` writes the 19 + 38 block DiT in fp8
(11.9B params, 11.1 GiB) instead, for GPU benchmarks: random weights cost the same compute as real ones.

Files are cached in ``<cache>/tiny_flux/`` with a ``manifest.json`` (layout fingerprint and size per
file): a file is written again only when it is missing, has the wrong size, or its layout changed.
A lock file serialises concurrent callers (several test processes may ask at once).

CLI: ``python -m devkit.tiny_flux [--dest DIR] [--parts dit,ae,clip_l,t5xxl] [--full-size]``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sd_scripts_bridge.engine import platform_compat

from .cache import cache_root
from .flux_layouts import (
    FULL_DOUBLE_BLOCKS,
    FULL_SINGLE_BLOCKS,
    TensorSpec,
    clip_l_layout,
    flux_ae_layout,
    flux_dit_layout,
    t5xxl_layout,
)
from .safetensors_stream import expected_file_size, write_random_safetensors

log = logging.getLogger(__name__)

# Bump when the way files are generated changes without the layouts changing (e.g. init values).
SPEC_VERSION = 1
ALL_PARTS = ("dit", "ae", "clip_l", "t5xxl")
MANIFEST = "manifest.json"
# ComfyUI model folder of each part: UNETLoader, VAELoader, DualCLIPLoader (type flux)
COMFY_FOLDERS = {"dit": "diffusion_models", "ae": "vae", "clip_l": "text_encoders", "t5xxl": "text_encoders"}
RANDOM_WEIGHTS_NOTE = "random weights for tests and the demo: images and scores made with them mean nothing"


@dataclass(frozen=True)
class PartSpec:
    """How one file of the set is made."""

    part: str
    filename: str
    layout: Callable[[], list[TensorSpec]]
    dtype: str
    seed: int


def part_specs(full_size: bool = False) -> dict[str, PartSpec]:
    """The recipe of each part; ``full_size`` swaps the 1 + 1 block DiT for the 19 + 38 one in fp8."""
    if full_size:
        dit = PartSpec(
            "dit",
            f"random_flux1_dev_{FULL_DOUBLE_BLOCKS}d{FULL_SINGLE_BLOCKS}s_fp8_e4m3fn.safetensors",
            lambda: flux_dit_layout(FULL_DOUBLE_BLOCKS, FULL_SINGLE_BLOCKS),
            "fp8",
            11,
        )
    else:
        dit = PartSpec(
            "dit", "random_flux1_dev_1d1s_bf16.safetensors", lambda: flux_dit_layout(1, 1), "bf16", 1
        )
    return {
        "dit": dit,
        "ae": PartSpec("ae", "random_flux_ae_fp32.safetensors", flux_ae_layout, "fp32", 2),
        "clip_l": PartSpec("clip_l", "random_clip_l_fp16.safetensors", clip_l_layout, "fp16", 3),
        "t5xxl": PartSpec("t5xxl", "random_t5xxl_fp8_e4m3fn.safetensors", t5xxl_layout, "fp8", 4),
    }


@dataclass(frozen=True)
class TinyFluxFiles:
    """Paths of the generated files; a part that was not asked for is None."""

    root: Path
    dit: Path | None = None
    ae: Path | None = None
    clip_l: Path | None = None
    t5xxl: Path | None = None

    def as_model_files(self):  # -> sd_scripts_bridge.model.ModelFiles
        """The bridge's ``ModelFiles`` (needs all four parts)."""
        from sd_scripts_bridge.model import ModelFiles

        missing = [p for p in ALL_PARTS if getattr(self, p) is None]
        if missing:
            raise ValueError(f"the engine needs all four FLUX files; these were not generated: {missing}")
        return ModelFiles(diffusion_model=self.dit, clip_l=self.clip_l, t5xxl=self.t5xxl, ae=self.ae)

    def link_into_comfy_models(self, models_dir: Path) -> dict[str, Path]:
        """Symlink the files into a ComfyUI ``models/`` folder; return part -> link path.

        The DiT goes to ``diffusion_models/`` (UNETLoader), the AE to ``vae/``, the encoders to
        ``text_encoders/`` (DualCLIPLoader, type flux). Existing links are replaced.
        """
        links = {}
        for part, folder in COMFY_FOLDERS.items():
            target = getattr(self, part)
            if target is None:
                continue
            link = Path(models_dir) / folder / target.name
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(target)
            links[part] = link
        return links


def default_dest() -> Path:
    return cache_root() / "tiny_flux"


def _metadata(spec: PartSpec, fingerprint: str) -> dict[str, str]:
    return {
        "format": "pt",
        # the module's first name: the header's length is part of the cached files' expected size
        "generator": "flux-identity-lora demo.tiny_flux",
        "fingerprint": fingerprint,
        "note": RANDOM_WEIGHTS_NOTE,
    }


def fingerprint(spec: PartSpec, tensors: Sequence[TensorSpec]) -> str:
    """A short hash of everything that decides the file's bytes."""
    recipe = [SPEC_VERSION, spec.dtype, spec.seed, [(t.name, t.shape, t.init, t.std) for t in tensors]]
    return hashlib.sha256(json.dumps(recipe).encode()).hexdigest()[:16]


def _read_manifest(dest: Path) -> dict:
    try:
        return json.loads((dest / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


def _write_manifest(dest: Path, manifest: dict) -> None:
    partial = dest / f".{MANIFEST}.{os.getpid()}.partial"
    partial.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    os.replace(partial, dest / MANIFEST)


@contextlib.contextmanager
def _exclusive(dest: Path) -> Iterator[None]:
    """Hold ``dest/.lock`` so only one process generates at a time (waits for the holder)."""
    with open(dest / ".lock", "w") as lock:
        while not platform_compat.try_lock(lock):
            time.sleep(0.2)
        try:
            yield
        finally:
            platform_compat.unlock(lock)


def _is_current(dest: Path, entry: dict | None, spec: PartSpec, fp: str, size: int) -> bool:
    if not entry or entry.get("file") != spec.filename or entry.get("fingerprint") != fp:
        return False
    path = dest / spec.filename
    return path.is_file() and path.stat().st_size == size == entry.get("bytes")


def ensure_tiny_flux(
    dest: Path | None = None, parts: Sequence[str] = ALL_PARTS, full_size: bool = False
) -> TinyFluxFiles:
    """Return the model files, generating those that are missing or out of date.

    Generation needs about 1.5 GB of RAM and, for all four tiny parts, about 6 GiB of disk and one to
    two minutes on two CPU cores (the T5 dominates); later calls only stat the files.
    """
    unknown = sorted(set(parts) - set(ALL_PARTS))
    if unknown:
        raise ValueError(f"unknown model parts {unknown}; choose from {list(ALL_PARTS)}")
    dest = Path(dest) if dest is not None else default_dest()
    dest.mkdir(parents=True, exist_ok=True)
    specs = part_specs(full_size)
    paths: dict[str, Path] = {}
    with _exclusive(dest):
        manifest = _read_manifest(dest)
        entries = manifest.setdefault("files", {})
        for part in parts:
            spec = specs[part]
            tensors = spec.layout()
            fp = fingerprint(spec, tensors)
            meta = _metadata(spec, fp)
            size = expected_file_size(tensors, spec.dtype, meta)
            if not _is_current(dest, entries.get(spec.filename), spec, fp, size):
                started = time.monotonic()
                log.info("writing %s (%s, %d tensors)", dest / spec.filename, spec.dtype, len(tensors))
                written = write_random_safetensors(dest / spec.filename, tensors, spec.dtype, spec.seed, meta)
                entries[spec.filename] = {"file": spec.filename, "fingerprint": fp, "bytes": written}
                manifest["spec_version"] = SPEC_VERSION
                _write_manifest(dest, manifest)
                took = time.monotonic() - started
                log.info("wrote %s: %.2f GiB in %.0f s", spec.filename, written / 2**30, took)
            paths[part] = dest / spec.filename
    return TinyFluxFiles(root=dest, **paths)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit.tiny_flux", description=__doc__.split("\n")[0])
    parser.add_argument("--dest", type=Path, default=None, help=f"folder (default: {default_dest()})")
    all_parts = ",".join(ALL_PARTS)
    parser.add_argument("--parts", default=all_parts, help=f"comma-separated subset of {all_parts}")
    parser.add_argument("--full-size", action="store_true", help="19 + 38 block DiT in fp8 (GPU benchmarks)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    files = ensure_tiny_flux(args.dest, parts, full_size=args.full_size)
    for part in parts:
        print(f"{part}: {getattr(files, part)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
