"""Real photos that ship inside registry packages (nothing is downloaded), as PIL RGB images.

- matplotlib: ``mpl-data/sample_data/grace_hopper.jpg``: 512x600, one frontal portrait (the demo's subject).
- scikit-image: ``data.astronaut()`` (Eileen Collins, 512x512, frontal) and ``data.camera()`` (the
  cameraman, 512x512 grayscale, face turned about 55 degrees); its textures (brick, grass, gravel) and
  scenes (coffee, rocket) serve as backgrounds.
- insightface: ``data/images/Tom_Hanks_54745.png`` (112x112, aligned to ArcFace's template) and
  ``t1.jpg`` (1280x886, six people).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from PIL import Image


def grace_hopper_path() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def insightface_images_dir() -> Path:
    spec = importlib.util.find_spec("insightface")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("insightface is not installed: `pip install insightface` (it ships t1.jpg)")
    return Path(spec.origin).parent / "data" / "images"


def _open_rgb(path: Path | str) -> Image.Image:
    with Image.open(os.fspath(path)) as image:
        return image.convert("RGB")


def grace_hopper() -> Image.Image:
    return _open_rgb(grace_hopper_path())


def tom_hanks() -> Image.Image:
    return _open_rgb(insightface_images_dir() / "Tom_Hanks_54745.png")


def group_photo() -> Image.Image:
    return _open_rgb(insightface_images_dir() / "t1.jpg")


def skimage_photo(name: str) -> Image.Image:
    """A scikit-image sample (e.g. ``astronaut``, ``camera``, ``brick``, ``coffee``) as RGB."""
    import skimage.data

    return Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
