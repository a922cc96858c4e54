"""Caption write-back: only what changes, backed up first, atomic, never through a link.

The crash test kills a writing process at random moments and checks that every caption is then
either its old or its new text, never empty or cut off.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from devkit.photos import write_image
from identity_core.dataset.caption_files import TEMPORARY_MARK, write_caption_files
from identity_core.dataset.model import CAPTION_EDITED, CAPTION_FILE, Dataset, DatasetItem

REPO_ROOT = Path(__file__).resolve().parents[3]


def dataset_with(folder: Path, captions: dict[str, tuple[str | None, str]], suffix: str = ".txt") -> Dataset:
    """``{stem: (existing caption file text or None, staged caption)}``."""
    items = []
    for index, (stem, (existing, staged)) in enumerate(captions.items()):
        image = write_image(np.full((8, 8, 3), index, np.uint8), folder / f"{stem}.png")
        caption_path = None
        if existing is not None:
            caption_path = folder / f"{stem}{suffix}"
            caption_path.write_text(existing, encoding="utf-8")
        items.append(DatasetItem(image, staged, CAPTION_EDITED if existing else CAPTION_FILE, caption_path))
    return Dataset(folder=folder, items=tuple(items))


def test_only_changed_captions_are_backed_up_and_written(tmp_path):
    folder = tmp_path / "photos"
    dataset = dataset_with(
        folder,
        {
            "a": ("a woman at the beach", "zxqv, a woman at the beach"),
            "b": (None, "zxqv, a woman"),
            "c": ("zxqv, a woman", "zxqv, a woman"),
        },
    )
    untouched = (folder / "c.txt").stat().st_mtime_ns
    outcome = write_caption_files(dataset, tmp_path / "backups")
    assert sorted(p.name for p in outcome.written) == ["a.txt", "b.txt"]
    assert (folder / "a.txt").read_text() == "zxqv, a woman at the beach"
    assert (folder / "b.txt").read_text() == "zxqv, a woman"
    assert (folder / "c.txt").stat().st_mtime_ns == untouched
    assert outcome.backup_folder.parent == tmp_path / "backups"
    assert {p.name: p.read_text() for p in outcome.backup_folder.iterdir()} == {
        "a.txt": "a woman at the beach"
    }
    assert not [p for p in folder.iterdir() if TEMPORARY_MARK in p.name]
    assert write_caption_files(dataset, tmp_path / "backups").backup_folder is None  # nothing left to change


def test_upper_case_caption_files_are_backed_up_too(tmp_path):
    folder = tmp_path / "photos"
    dataset = dataset_with(folder, {"a": ("old words", "zxqv, new words")}, suffix=".TXT")
    outcome = write_caption_files(dataset, tmp_path / "backups")
    assert outcome.written == [folder / "a.TXT"] and (folder / "a.TXT").read_text() == "zxqv, new words"
    assert (outcome.backup_folder / "a.TXT").read_text() == "old words"


def test_a_linked_caption_is_never_written_through(tmp_path):
    folder = tmp_path / "photos"
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("a file outside the dataset")
    dataset = dataset_with(folder, {"a": ("old", "zxqv, new")})
    (folder / "a.txt").unlink()
    (folder / "a.txt").symlink_to(outside)
    outcome = write_caption_files(dataset, tmp_path / "backups")
    assert outcome.written == [] and outcome.skipped[0][0] == folder / "a.txt"
    assert "symbolic link" in outcome.skipped[0][1]
    assert outside.read_text() == "a file outside the dataset" and (folder / "a.txt").is_symlink()


WRITER = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from identity_core.dataset.caption_files import write_caption_files
from identity_core.dataset.model import Dataset, DatasetItem

folder = Path(sys.argv[2])
new = "NEW " * 50000
items = tuple(
    DatasetItem(path, new, "edited", path.with_suffix(".txt")) for path in sorted(folder.glob("*.png"))
)
print("ready", flush=True)
write_caption_files(Dataset(folder=folder, items=items), Path(sys.argv[3]))
"""


def test_a_crash_at_any_moment_leaves_each_caption_old_or_new(tmp_path):
    old, new = "OLD " * 50000, "NEW " * 50000  # 200 kB each: the writes take measurable time
    rng = random.Random(7)
    states = set()
    for attempt in range(12):
        folder = tmp_path / f"attempt{attempt}"
        dataset_with(folder, {f"p{index:03d}": (old, new) for index in range(60)})
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(REPO_ROOT), str(folder), str(tmp_path / "backups")],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.25))
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
        for caption in folder.glob("*.txt"):
            text = caption.read_text()
            assert text in (old, new), f"{caption.name}: {len(text)} characters, neither old nor new"
            states.add(text == new)
    assert states == {False, True}  # the kills landed before, during and after the writes
