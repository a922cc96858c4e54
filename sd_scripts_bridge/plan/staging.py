"""Stage the dataset into the run folder so the engine never touches the user's folder.

sd-scripts writes ``*_flux.npz`` latents and ``*_flux_te.npz`` text-encoder caches next to the
images, and reuses a TE cache without comparing the caption text. So each run trains on a
staged copy: every image copied under a numbered name, with a ``.txt`` caption written from the
caption text in memory. The staged folder records a key over image bytes, captions, and the
model files and settings the caches depend on; when the key changes, the folder is rebuilt
beside the old one and swapped in, so caches always match the captions.

Copies, never links: a hard link would let anything that writes into the run folder write
through to the user's original photo. And the engine ignores EXIF orientation, so a phone
portrait stored sideways with a rotation flag would train sideways: such a photo is staged
turned upright (as PNG, so no second JPEG compression), every other photo byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import BridgeError
from ..model import DatasetImage, DatasetStaging, StagedImage, TrainingPlan

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")  # the engine's IMAGE_EXTENSIONS
MANIFEST_NAME = "staging.json"
CAPTION_SUFFIX = ".txt"
EXIF_ORIENTATION_TAG = 0x0112
UPRIGHT_SUFFIX = ".png"  # a photo turned upright is saved losslessly


class DatasetInputError(BridgeError):
    pass


def file_sha256(path: Path) -> str:
    """The file's sha256, read once per content: a job hashes the dataset for its request key and
    again for staging, so the digest is remembered under the file's size, mtime and inode."""
    stat = Path(path).stat()
    return _sha256_of(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)


@lru_cache(maxsize=4096)
def _sha256_of(path: str, _size: int, _mtime_ns: int, _inode: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def staged_name(index: int, source: Path) -> str:
    """``0007_my_photo.jpg``: numbered (two photos may share a name), safe characters only."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", source.stem).strip("._") or "image"
    return f"{index:04d}_{stem[:60]}{source.suffix.lower()}"


def one_line(caption: str | None) -> str | None:
    if caption is None:
        return None
    return " ".join(caption.split())


def check_image(image: DatasetImage, role: str) -> None:
    path = Path(image.image_path)
    if not path.is_file():
        raise DatasetInputError(
            what=f"The {role} image does not exist or is not a file",
            fix="check the dataset folder and run the dataset check again",
            path=path,
        )
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise DatasetInputError(
            what=f"The {role} image has a format the engine does not read ({path.suffix or 'no extension'})",
            fix=f"convert it to one of {', '.join(IMAGE_SUFFIXES)} or remove it from the dataset",
            path=path,
        )


def stage_images(images: Sequence[DatasetImage], role: str) -> tuple[StagedImage, ...]:
    staged = []
    for index, image in enumerate(images, start=1):
        check_image(image, role)
        source = Path(image.image_path)
        rotated = exif_orientation(source) not in (0, 1)
        name = staged_name(index, source)
        if rotated:
            name = str(Path(name).with_suffix(UPRIGHT_SUFFIX))
        staged.append(StagedImage(source, name, one_line(image.caption), rotated))
    return tuple(staged)


def exif_orientation(path: Path) -> int:
    """The EXIF orientation tag (1 = upright; 0 when the file has none or cannot be read here)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return int(image.getexif().get(EXIF_ORIENTATION_TAG, 1) or 1)
    except (OSError, ValueError, SyntaxError):
        return 0  # unreadable images are the dataset check's finding; the engine reports them too


def dataset_hash(subject: Iterable[StagedImage], reg: Iterable[StagedImage]) -> str:
    """sha256 over each image's bytes and caption, in order (names of source folders do not count)."""
    digest = hashlib.sha256()
    for role, items in (("subject", subject), ("reg", reg)):
        for item in items:
            record = [role, item.staged_name, file_sha256(item.source), item.caption]
            digest.update(json.dumps(record).encode("utf-8") + b"\n")
    return digest.hexdigest()


def model_identity(path: Path) -> list[Any]:
    stat = Path(path).stat()
    return [str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns]


def plan_staging(
    run_dir: Path,
    images: Sequence[DatasetImage],
    regularization: Sequence[DatasetImage],
    cache_inputs: Mapping[str, Any],
) -> DatasetStaging:
    """Decide the staged layout (reads the images to hash them; writes nothing)."""
    if not images:
        raise DatasetInputError(
            what="The dataset has no images",
            fix="add 15-30 photos of the person (design document Section 6) and run the dataset check again",
        )
    subject = stage_images(images, "training")
    reg = stage_images(regularization, "regularization")
    content = dataset_hash(subject, reg)
    key_record = json.dumps({"dataset": content, **cache_inputs}, sort_keys=True, default=str)
    root = Path(run_dir) / "dataset"
    return DatasetStaging(
        root=root,
        subject_dir=root / "subject",
        reg_dir=root / "reg" if reg else None,
        subject=subject,
        reg=reg,
        dataset_hash=content,
        key=hashlib.sha256(key_record.encode("utf-8")).hexdigest(),
    )


def copy_image(item: StagedImage, target: Path) -> None:
    """A new file with the photo's content (never a link); turned upright when EXIF says so."""
    if not item.rotated:
        shutil.copyfile(item.source, target)
        return
    from PIL import Image, ImageOps

    with Image.open(item.source) as image:
        upright = ImageOps.exif_transpose(image)
        upright.save(target, format="PNG")


def write_subset(folder: Path, items: Sequence[StagedImage]) -> None:
    folder.mkdir(parents=True)
    for item in items:
        copy_image(item, folder / item.staged_name)
        if item.caption is not None:
            caption_file = folder / (Path(item.staged_name).stem + CAPTION_SUFFIX)
            caption_file.write_text(item.caption + "\n", encoding="utf-8")


def is_current(staging: DatasetStaging) -> bool:
    try:
        manifest = json.loads((staging.root / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if manifest.get("key") != staging.key:
        return False
    folders = [(staging.subject_dir, staging.subject)]
    if staging.reg_dir is not None:
        folders.append((staging.reg_dir, staging.reg))
    return all((folder / item.staged_name).is_file() for folder, items in folders for item in items)


def stage_dataset(staging: DatasetStaging) -> bool:
    """Write the staged folder; keep it (and its caches) when it is current. True when (re)built."""
    if is_current(staging):
        return False
    partial = staging.root.with_name(staging.root.name + f".partial-{os.getpid()}")
    if partial.exists():
        shutil.rmtree(partial)
    write_subset(partial / staging.subject_dir.name, staging.subject)
    if staging.reg_dir is not None:
        write_subset(partial / staging.reg_dir.name, staging.reg)
    manifest = {
        "key": staging.key,
        "dataset_hash": staging.dataset_hash,
        "sources": [str(item.source) for item in (*staging.subject, *staging.reg)],
    }
    (partial / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    if staging.root.exists():
        stale = staging.root.with_name(staging.root.name + f".stale-{os.getpid()}")
        staging.root.replace(stale)
        partial.replace(staging.root)
        shutil.rmtree(stale, ignore_errors=True)
    else:
        partial.replace(staging.root)
    return True


def prepare_run_dir(plan: TrainingPlan) -> None:
    """Everything a plan needs on disk before its first phase: staged dataset, TOML, sample prompts."""
    plan.run_dir.mkdir(parents=True, exist_ok=True)
    if plan.staging is not None:
        stage_dataset(plan.staging)
    plan.dataset_toml_path.write_text(plan.dataset_toml, encoding="utf-8")
    if plan.sample_prompts_path is not None and plan.sample_prompts_text is not None:
        plan.sample_prompts_path.write_text(plan.sample_prompts_text, encoding="utf-8")
    for phase in plan.phases:
        phase.output_dir.mkdir(parents=True, exist_ok=True)
        if phase.engine_log is not None:
            phase.engine_log.parent.mkdir(parents=True, exist_ok=True)
