"""The demo dataset: one real person in varied shots, captions, and other people for regularization."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from devkit.demo_dataset import REG_SHOTS, SHOTS, TRIGGER, ensure_demo_dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return ensure_demo_dataset(tmp_path_factory.mktemp("demo") / "dataset")


def _pixels(path):
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def test_layout_and_captions(dataset):
    assert len(dataset.subject) == len(SHOTS) == 18
    assert len(dataset.regularization) == len(REG_SHOTS) == 6
    for item in dataset.subject:
        assert item.path.parent == dataset.subject_dir
        assert item.caption.startswith(f"{TRIGGER} woman, ")
        assert item.path.with_suffix(".txt").read_text(encoding="utf-8") == item.caption + "\n"
    for item in dataset.regularization:
        assert TRIGGER not in item.caption
        assert item.path.with_suffix(".txt").read_text(encoding="utf-8") == item.caption + "\n"
    captions = [item.caption for item in dataset.subject]
    assert len(set(captions)) == len(captions)  # no identical phrasing


def test_images_are_varied_and_large_enough(dataset):
    images = [_pixels(item.path) for item in dataset.subject]
    assert all(min(im.shape[:2]) >= 480 for im in images)
    small = [np.asarray(Image.fromarray(im).resize((32, 32))).astype(np.int16) for im in images]
    closest = min(np.abs(a - b).mean() for i, a in enumerate(small) for b in small[i + 1 :])
    assert closest > 3.0, "two demo images are near copies"


def test_every_subject_image_shows_the_same_one_person(dataset):
    from identity_core.faces import load_backend

    backend = load_backend([], "dlib").backend
    reference = backend.analyze(_pixels(dataset.subject[0].path))[0].embedding
    for item in dataset.subject:
        faces = backend.analyze(_pixels(item.path))
        assert len(faces) == 1, item.path.name
        assert float(faces[0].embedding @ reference) >= backend.same_person_cosine, item.path.name
    for item in dataset.regularization:
        for face in backend.analyze(_pixels(item.path)):
            assert float(face.embedding @ reference) < backend.same_person_cosine, item.path.name


def test_second_call_keeps_the_files_and_is_deterministic(dataset, tmp_path):
    stamps = [item.path.stat().st_mtime_ns for item in dataset.subject]
    assert ensure_demo_dataset(dataset.root) == dataset
    assert [item.path.stat().st_mtime_ns for item in dataset.subject] == stamps
    again = ensure_demo_dataset(tmp_path / "other")
    assert [i.path.read_bytes() for i in again.subject] == [i.path.read_bytes() for i in dataset.subject]


def test_other_trigger_rebuilds_the_captions(dataset, tmp_path):
    other = ensure_demo_dataset(tmp_path / "sks", trigger="sks", class_word="person")
    assert other.subject[0].caption.startswith("sks person, ")
    assert other.subject[0].path.with_suffix(".txt").read_text(encoding="utf-8").startswith("sks person, ")
