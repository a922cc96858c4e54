"""Read a dataset folder without changing it: images (EXIF, bit depth, alpha) and captions.

Only reads. Images come back as RGB uint8 arrays the way a person sees them (EXIF applied),
together with the facts the engine cares about: sd-scripts reads pixels with PIL's
``convert("RGB")`` and ignores EXIF orientation, alpha and 16-bit depth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import IdentityError

# What sd-scripts v0.10.1 accepts (library/train_util.py IMAGE_EXTENSIONS), lower case.
ENGINE_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
CAPTION_EXTENSION = ".txt"
IGNORED_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}
EXIF_ORIENTATION_TAG = 0x0112
# Larger images are reduced to this long side before face and image measures (JPEGs are decoded
# at a reduced size directly): the detector runs at 320 px, blur and light at 512 px, face crops
# at 112-150 px, so 1024 px keeps a full-body shot's face above 60 px at a fraction of the cost.
ANALYSIS_LONG_SIDE = 1024
# The pack's own limits, whatever PIL's global MAX_IMAGE_PIXELS is (other packs switch it off): a
# shared server must not decode or read without bound what a client points it at.
MAX_FOLDER_ENTRIES = 1000  # entries looked at in one folder (15-30 photos are asked for)
MAX_IMAGE_PIXELS = 100_000_000  # above today's largest phone photos (48-50 MP; 108 MP modes)
MAX_CAPTION_BYTES = 64 * 1024  # CLIP reads 75 tokens; a caption this long is not a caption


class DatasetFolderError(IdentityError):
    """The folder itself cannot be used (missing, not a folder, unreadable)."""


@dataclass
class ImageRecord:
    """One image file as read, or why it could not be read."""

    path: Path
    width: int = 0
    height: int = 0
    mode: str = ""
    exif_orientation: int = 1
    has_alpha: bool = False
    bit_depth: int = 8
    error: str | None = None
    over_limit: str | None = None  # a pack limit it exceeds: it is left out, not decoded
    pixels: np.ndarray | None = field(default=None, repr=False)  # RGB uint8, analysis size
    analysis_scale: float = 1.0  # analysis size / original size
    caption: str | None = None
    caption_path: Path | None = None
    caption_error: str | None = None

    @property
    def readable(self) -> bool:
        return self.error is None and self.over_limit is None and self.pixels is not None


@dataclass
class FolderScan:
    folder: Path
    images: list[ImageRecord]
    other_files: list[Path]  # files that are neither images the engine reads nor captions
    orphan_captions: list[Path]  # .txt files without a same-name image
    unlisted: int = 0  # entries beyond MAX_FOLDER_ENTRIES, not looked at
    links_outside: list[Path] = field(default_factory=list)  # links that lead out of the folder: skipped


def scan_folder(folder: str | Path, load_pixels: bool = True) -> FolderScan:
    """List and read a dataset folder (not recursive; sub-folders are reported as other files)."""
    folder = Path(folder).expanduser()
    if not str(folder).strip() or not folder.exists():
        raise DatasetFolderError(
            "The dataset folder does not exist",
            "enter the full path of the folder that holds your photos (and their optional same-name "
            ".txt captions)",
            path=folder,
        )
    if not folder.is_dir():
        raise DatasetFolderError(
            "The dataset path is a file, not a folder", "enter the folder that holds the photos", path=folder
        )
    try:
        entries, unlisted = _first_entries(folder)
    except OSError as exc:
        raise DatasetFolderError(
            f"The dataset folder cannot be listed ({exc.strerror or exc})",
            "check the folder's permissions",
            path=folder,
        ) from exc
    entries, links_outside = _inside(folder, entries)
    captions = {p.stem: p for p in entries if p.is_file() and p.suffix.lower() == CAPTION_EXTENSION}
    images, others = [], []
    for entry in entries:
        if entry.name in IGNORED_NAMES or entry.suffix.lower() == CAPTION_EXTENSION:
            continue
        if entry.is_file() and entry.suffix.lower() in ENGINE_IMAGE_EXTENSIONS:
            record = read_image(entry, load_pixels)
            caption_path = captions.pop(entry.stem, None)
            if caption_path is not None:
                record.caption_path = caption_path
                record.caption, record.caption_error = read_caption(caption_path)
            images.append(record)
        else:
            others.append(entry)
    return FolderScan(folder, images, others, sorted(captions.values()), unlisted, links_outside)


def _first_entries(folder: Path) -> tuple[list[Path], int]:
    """The folder's first ``MAX_FOLDER_ENTRIES`` entries by name, and how many more there are."""
    import os

    with os.scandir(folder) as scan:
        names = []
        for count, entry in enumerate(scan):
            if count >= 20 * MAX_FOLDER_ENTRIES:  # never list a huge folder to the end
                break
            names.append(entry.name)
    names.sort(key=str.lower)
    kept = names[:MAX_FOLDER_ENTRIES]
    return [folder / name for name in kept], len(names) - len(kept)


def _inside(folder: Path, entries: list[Path]) -> tuple[list[Path], list[Path]]:
    """Entries that stay inside the folder, and the symbolic links that lead out of it."""
    root = folder.resolve()
    inside, outside = [], []
    for entry in entries:
        if entry.is_symlink() and entry.resolve().parent != root:
            outside.append(entry)
        else:
            inside.append(entry)
    return inside, outside


def read_caption(path: Path) -> tuple[str | None, str | None]:
    """The caption text, or an error saying why the engine could not read it (it wants UTF-8)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CAPTION_BYTES + 1)
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc}); check the file's permissions."
    if len(raw) > MAX_CAPTION_BYTES:
        return None, (
            f"larger than {MAX_CAPTION_BYTES // 1024} KB, the pack's limit for a caption file (CLIP reads "
            "75 tokens); not read. Shorten it to a one-line caption."
        )
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        guess = raw.decode("cp1252", errors="replace")
        return guess, (
            f"not UTF-8 (byte 0x{raw[exc.start]:02x} at position {exc.start}); the engine stops on it. "
            "Open the file in a text editor and save it with UTF-8 encoding."
        )


def read_image(path: Path, load_pixels: bool = True) -> ImageRecord:
    from PIL import Image, UnidentifiedImageError

    record = ImageRecord(path)
    try:
        with Image.open(path) as image:
            record.width, record.height = image.size
            record.mode = image.mode
            record.exif_orientation = int(image.getexif().get(EXIF_ORIENTATION_TAG, 1) or 1)
            record.has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            record.bit_depth = 16 if image.mode.startswith("I;16") or image.mode == "I" else 8
            record.over_limit = _pixel_limit(record)
            if load_pixels and record.over_limit is None:
                _decode_upright(image, record)
    except (Image.DecompressionBombError, UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        record.error = _read_error(exc)
    return record


def read_pixels(record: ImageRecord) -> ImageRecord:
    """Decode a record listed with ``load_pixels=False`` (upright, analysis size), or set its error."""
    from PIL import Image, UnidentifiedImageError

    if record.error is not None or record.over_limit is not None or record.pixels is not None:
        return record
    try:
        with Image.open(record.path) as image:
            _decode_upright(image, record)
    except (Image.DecompressionBombError, UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        record.error = _read_error(exc)
    return record


def _pixel_limit(record: ImageRecord) -> str | None:
    pixels = record.width * record.height
    if pixels <= MAX_IMAGE_PIXELS:
        return None
    return (
        f"{record.width}x{record.height} is {pixels / 1e6:.0f} megapixels, above the pack's limit of "
        f"{MAX_IMAGE_PIXELS // 1_000_000}; resize it (training uses at most 1024 px)"
    )


def _decode_upright(image, record: ImageRecord) -> None:
    """Pixels the way a person sees the photo (EXIF rotation applied), at the analysis size.

    ``draft`` lets the JPEG decoder skip detail (scales 1/2, 1/4, 1/8) while keeping at least the
    analysis size, which cuts the decode time of a 12-megapixel phone photo several times.
    """
    from PIL import ImageOps

    if image.format == "JPEG" and image.mode in ("RGB", "L"):
        ratio = ANALYSIS_LONG_SIDE / max(image.size)
        image.draft(image.mode, (math.ceil(image.width * ratio), math.ceil(image.height * ratio)))
    decoded_size = max(image.size)
    image.load()
    upright = ImageOps.exif_transpose(image)
    record.pixels, scale = _analysis_pixels(upright)
    record.analysis_scale = scale * decoded_size / max(record.width, record.height)


def _read_error(exc: Exception) -> str:
    from PIL import Image, UnidentifiedImageError

    if isinstance(exc, Image.DecompressionBombError):
        return f"too large to open safely ({exc}). Resize it below about 8000 px per side."
    if isinstance(exc, UnidentifiedImageError):
        return "not an image the imaging library recognises (wrong extension or damaged file)."
    return f"damaged or truncated image ({exc}). Re-export or re-download it."


def _analysis_pixels(image) -> tuple[np.ndarray, float]:
    from PIL import Image

    if image.mode.startswith("I;16") or image.mode == "I":
        wide = np.asarray(image, np.float64)
        scale = 257.0 if wide.max() > 255 else 1.0
        gray = Image.fromarray(np.clip(wide / scale, 0, 255).astype(np.uint8))
        image = gray.convert("RGB")
    elif image.mode in ("RGBA", "LA", "PA", "P") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (128, 128, 128, 255))
        image = Image.alpha_composite(background, rgba).convert("RGB")
    else:
        image = image.convert("RGB")
    scale = min(1.0, ANALYSIS_LONG_SIDE / max(image.size))
    if scale < 1.0:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BILINEAR)
    return np.asarray(image), scale
