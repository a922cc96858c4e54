"""The demo dataset: one real person, varied shots with captions, plus regularization images.

Only one photo of the subject ships in a registry package (matplotlib's Grace Hopper portrait), so the
18 subject images are made from it: crops from head-and-shoulders to close-up, mirror images, small
rotations, lighting and colour changes, black and white, and the face placed on other backgrounds
(scikit-image textures and scenes) at several sizes. Regularization images are other real people
(scikit-image's astronaut and cameraman, insightface's Tom Hanks and group photo). Every image gets a
same-name ``.txt`` caption; subject captions start with the trigger token and class word.

This is enough for the pipeline to run end to end; it is not a good identity dataset (one source
photo, so little real pose or lighting variety) and the checks may say so.

CLI: ``python -m devkit.demo_dataset [--dest DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

from . import photos
from .cache import cache_root

DATASET_VERSION = 1
TRIGGER = "zyqux"  # a rare token: CaptionTokenizer flags ohwx and sks as single CLIP tokens
CLASS_WORD = "woman"
JPEG_QUALITY = 92

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Shot:
    """One subject image: a crop of the source photo, then edits, then an optional background."""

    crop: Box  # left, top, right, bottom in the 512x600 source
    size: tuple[int, int]  # output width, height
    caption: str  # after "<trigger> <class>, "
    rotate: float = 0.0  # degrees, counter-clockwise, applied before cropping
    mirror: bool = False
    brightness: float = 1.0
    contrast: float = 1.0
    saturation: float = 1.0
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)  # per-channel gain
    background: str | None = None  # scikit-image sample name; the face is feathered onto it
    face_scale: float = 1.0  # size of the pasted face relative to the output height
    face_at: tuple[float, float] = (0.5, 0.5)  # centre of the pasted face, fractions of the output


# Face in the source: roughly x 150..375, y 120..345.
SHOTS: tuple[Shot, ...] = (
    Shot((0, 0, 512, 600), (512, 600), "portrait, navy uniform, flag in the background"),
    Shot((56, 40, 456, 440), (512, 512), "head and shoulders, studio portrait"),
    Shot((130, 100, 390, 360), (512, 512), "close-up of the face, glasses"),
    Shot((0, 0, 512, 600), (512, 600), "portrait, facing the camera", mirror=True),
    Shot((70, 60, 450, 440), (512, 512), "head tilted, indoors", rotate=7.0),
    Shot((70, 60, 450, 440), (512, 512), "head tilted the other way", rotate=-8.0, mirror=True),
    Shot((40, 30, 480, 470), (512, 512), "dim warm light, evening", brightness=0.7, tint=(1.08, 1.0, 0.85)),
    Shot((90, 70, 430, 410), (512, 512), "bright cool daylight", brightness=1.25, tint=(0.92, 1.0, 1.1)),
    Shot((100, 80, 420, 400), (512, 512), "black and white photo", saturation=0.0, contrast=1.15),
    Shot((20, 20, 500, 580), (480, 560), "faded vintage photo, sepia", contrast=0.75, tint=(1.1, 1.0, 0.8)),
    Shot((0, 60, 420, 480), (512, 512), "off-centre framing, smiling slightly"),
    Shot((100, 80, 512, 492), (512, 512), "looking at the viewer, soft light", mirror=True, brightness=1.1),
    Shot(
        (130, 100, 390, 360),
        (640, 512),
        "in front of a brick wall",
        background="brick",
        face_scale=0.75,
        face_at=(0.4, 0.5),
    ),
    Shot(
        (130, 100, 390, 360),
        (512, 640),
        "outdoors on the grass",
        background="grass",
        face_scale=0.5,
        face_at=(0.5, 0.35),
        brightness=1.1,
    ),
    Shot(
        (130, 100, 390, 360),
        (640, 480),
        "in a cafe, cup of coffee",
        background="coffee",
        face_scale=0.55,
        face_at=(0.7, 0.4),
        tint=(1.05, 1.0, 0.95),
    ),
    Shot(
        (130, 100, 390, 360),
        (640, 480),
        "at a launch site, rocket behind her",
        background="rocket",
        face_scale=0.45,
        face_at=(0.3, 0.45),
        mirror=True,
    ),
    Shot(
        (130, 100, 390, 360),
        (512, 512),
        "on a gravel path, overcast",
        background="gravel",
        face_scale=0.6,
        face_at=(0.55, 0.5),
        saturation=0.8,
    ),
    Shot(
        (0, 0, 512, 600),
        (768, 640),
        "mid shot, standing in a room",
        background="coffee",
        face_scale=0.95,
        face_at=(0.5, 0.5),
        brightness=0.9,
    ),
)


@dataclass(frozen=True)
class RegShot:
    """One regularization image: a real photo of someone else, with its class caption."""

    source: Callable[[], np.ndarray]  # a loader from devkit.photos
    caption: str
    crop: Box | None = None
    size: tuple[int, int] | None = None
    mirror: bool = False


REG_SHOTS: tuple[RegShot, ...] = (
    RegShot(photos.astronaut, "a woman, portrait, spacesuit"),
    RegShot(photos.astronaut, "a woman, close-up", (120, 0, 420, 300), (512, 512), True),
    RegShot(photos.camera, "a man outdoors, black and white photo"),
    RegShot(photos.tom_hanks, "a man, close-up of the face", size=(448, 448)),
    RegShot(photos.group_photo, "a man and a woman", (0, 60, 640, 700), (512, 512)),
    RegShot(photos.group_photo, "a group of people", (560, 40, 1280, 760), (512, 512)),
)


@dataclass(frozen=True)
class DemoImage:
    path: Path
    caption: str


@dataclass(frozen=True)
class DemoDataset:
    root: Path
    subject_dir: Path
    reg_dir: Path
    trigger: str
    class_word: str
    subject: tuple[DemoImage, ...]
    regularization: tuple[DemoImage, ...]


def _feathered_ellipse(size: tuple[int, int]) -> Image.Image:
    mask = Image.new("L", size, 0)
    w, h = size
    ImageDraw.Draw(mask).ellipse((w * 0.08, h * 0.02, w * 0.92, h * 0.98), fill=255)
    return mask.filter(ImageFilter.GaussianBlur(min(size) / 14))


def _background(name: str, size: tuple[int, int]) -> Image.Image:
    return ImageOps.fit(Image.fromarray(photos.skimage_sample(name)), size, Image.Resampling.LANCZOS)


def _apply_tone(image: Image.Image, shot: Shot) -> Image.Image:
    image = ImageEnhance.Brightness(image).enhance(shot.brightness)
    image = ImageEnhance.Contrast(image).enhance(shot.contrast)
    image = ImageEnhance.Color(image).enhance(shot.saturation)
    if shot.tint != (1.0, 1.0, 1.0):
        bands = [
            band.point(lambda v, g=gain: min(255, round(v * g)))
            for band, gain in zip(image.split(), shot.tint, strict=True)
        ]
        image = Image.merge("RGB", bands)
    return image


def render_shot(source: Image.Image, shot: Shot) -> Image.Image:
    """Make one subject image from the source portrait."""
    image = source
    if shot.rotate:
        image = image.rotate(shot.rotate, resample=Image.Resampling.BICUBIC, fillcolor=(90, 110, 150))
    image = image.crop(shot.crop)
    if shot.mirror:
        image = ImageOps.mirror(image)
    if shot.background is None:
        image = image.resize(shot.size, Image.Resampling.LANCZOS)
    else:
        canvas = _background(shot.background, shot.size)
        face_h = round(shot.size[1] * shot.face_scale)
        face_w = round(face_h * image.width / image.height)
        face = image.resize((face_w, face_h), Image.Resampling.LANCZOS)
        x = round(shot.size[0] * shot.face_at[0] - face_w / 2)
        y = round(shot.size[1] * shot.face_at[1] - face_h / 2)
        canvas.paste(face, (x, y), _feathered_ellipse(face.size))
        image = canvas
    return _apply_tone(image, shot)


def render_reg(shot: RegShot) -> Image.Image:
    image = Image.fromarray(shot.source())
    if shot.crop:
        image = image.crop(shot.crop)
    if shot.mirror:
        image = ImageOps.mirror(image)
    if shot.size:
        image = image.resize(shot.size, Image.Resampling.LANCZOS)
    return image


def _write(folder: Path, stem: str, image: Image.Image, caption: str) -> DemoImage:
    path = folder / f"{stem}.jpg"
    image.save(path, quality=JPEG_QUALITY)
    (folder / f"{stem}.txt").write_text(caption + "\n", encoding="utf-8")
    return DemoImage(path, caption)


def _is_current(root: Path, stamp: dict) -> bool:
    try:
        return json.loads((root / "dataset.json").read_text()) == stamp
    except (OSError, ValueError):
        return False


def ensure_demo_dataset(
    dest: Path | None = None, trigger: str = TRIGGER, class_word: str = CLASS_WORD
) -> DemoDataset:
    """Write the demo dataset to ``dest`` (default ``<cache>/demo_dataset``) unless it is already there.

    Layout: ``subject/`` (18 JPEGs + captions) and ``regularization/`` (6 JPEGs + captions).
    """
    root = Path(dest) if dest is not None else cache_root() / "demo_dataset"
    subject_dir, reg_dir = root / "subject", root / "regularization"
    stamp = {"version": DATASET_VERSION, "trigger": trigger, "class_word": class_word}
    prefix = f"{trigger} {class_word}, "
    if not _is_current(root, stamp):
        for folder in (subject_dir, reg_dir):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
        source = Image.fromarray(photos.grace_hopper())
        for i, shot in enumerate(SHOTS, 1):
            _write(subject_dir, f"subject_{i:02d}", render_shot(source, shot), prefix + shot.caption)
        for i, shot in enumerate(REG_SHOTS, 1):
            _write(reg_dir, f"reg_{i:02d}", render_reg(shot), shot.caption)
        partial = root / f".dataset.json.{os.getpid()}.partial"
        partial.write_text(json.dumps(stamp))
        os.replace(partial, root / "dataset.json")
    subject = tuple(
        DemoImage(subject_dir / f"subject_{i:02d}.jpg", prefix + s.caption) for i, s in enumerate(SHOTS, 1)
    )
    reg = tuple(DemoImage(reg_dir / f"reg_{i:02d}.jpg", s.caption) for i, s in enumerate(REG_SHOTS, 1))
    return DemoDataset(root, subject_dir, reg_dir, trigger, class_word, subject, reg)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit.demo_dataset", description=__doc__.split("\n")[0])
    parser.add_argument("--dest", type=Path, default=None, help="default: <cache>/demo_dataset")
    args = parser.parse_args(argv)
    dataset = ensure_demo_dataset(args.dest)
    print(f"{len(dataset.subject)} subject images in {dataset.subject_dir}")
    print(f"{len(dataset.regularization)} regularization images in {dataset.reg_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
