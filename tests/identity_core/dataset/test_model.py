from pathlib import Path

import numpy as np

from devkit.photos import write_image
from identity_core.dataset import FAIL, PASS, WARN, Dataset, DatasetItem, worst_severity


def _dataset(folder: Path, captions: list[str | None]) -> Dataset:
    items = []
    for index, caption in enumerate(captions):
        path = write_image(np.full((8, 8, 3), index * 20, np.uint8), folder / f"img{index}.png")
        items.append(DatasetItem(path, caption, "file" if caption else "none"))
    return Dataset(folder=folder, items=tuple(items))


def test_content_hash_covers_image_bytes_and_captions(tmp_path):
    base = _dataset(tmp_path / "a", ["x, a man", "x, a man outdoors"])
    same = _dataset(tmp_path / "b", ["x, a man", "x, a man outdoors"])
    assert base.content_hash() == same.content_hash()
    other_caption = _dataset(tmp_path / "c", ["x, a man", "x, a man indoors"])
    assert other_caption.content_hash() != base.content_hash()
    write_image(np.full((8, 8, 3), 99, np.uint8), tmp_path / "b" / "img1.png")
    assert same.content_hash() != base.content_hash()


def test_regularization_changes_the_hash(tmp_path):
    base = _dataset(tmp_path / "a", ["x, a man"])
    regularization = _dataset(tmp_path / "reg", ["a man"])
    assert base.replace(regularization=regularization).content_hash() != base.content_hash()


def test_worst_severity():
    assert worst_severity([]) == PASS
    assert worst_severity([PASS, WARN, PASS]) == WARN
    assert worst_severity([WARN, FAIL, PASS]) == FAIL
