"""Builders shared by the plan tests (no tests here): fake engine folder, images, requests.

Other test files load this one by path (tests folders are not packages).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from sd_scripts_bridge.engine.pins import ENGINE_COMMIT
from sd_scripts_bridge.model import DatasetImage, Engine, ModelFiles, PlanRequest


def make_engine(tmp_path: Path, commit: str = ENGINE_COMMIT) -> Engine:
    root = tmp_path / "engine"
    (root / "sd-scripts").mkdir(parents=True, exist_ok=True)
    return Engine(root=root, source_dir=root / "sd-scripts", python=root / "venv/bin/python", commit=commit)


def make_images(folder: Path, count: int, prefix: str = "img", caption: str | None = "ohwx person, photo"):
    folder.mkdir(parents=True, exist_ok=True)
    images = []
    for index in range(count):
        path = folder / f"{prefix}{index}.png"
        Image.new("RGB", (32, 32), (index * 7 % 255, 10, 20)).save(path)
        images.append(DatasetImage(path, caption))
    return tuple(images)


def make_request(tmp_path: Path, **changes) -> PlanRequest:
    models = tmp_path / "models"
    models.mkdir(exist_ok=True)
    for name in ("flux.safetensors", "clip_l.safetensors", "t5xxl.safetensors", "ae.safetensors"):
        (models / name).write_bytes(b"weights")
    values = dict(
        profile="fast",
        images=make_images(tmp_path / "dataset", 20),
        models=ModelFiles(
            models / "flux.safetensors",
            models / "clip_l.safetensors",
            models / "t5xxl.safetensors",
            models / "ae.safetensors",
        ),
        output_name="person_v1",
        run_dir=tmp_path / "run",
        trigger_token="ohwx",
        vram_tier="24gb",
        allow_unpinned_engine=True,
    )
    values.update(changes)
    return PlanRequest(**values)


def option(argv, name):
    """The value after ``name`` (the last occurrence, as argparse reads it)."""
    index = len(argv) - 1 - list(reversed(argv)).index(name)
    return argv[index + 1]
