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
import pytest

from devkit.photos import write_image
from identity_core.dataset.caption_files import TEMPORARY_MARK, CaptionWriteRefused, write_caption_files
from identity_core.dataset.model import CAPTION_EDITED, CAPTION_FILE, Dataset, DatasetItem

REPO_ROOT = Path(__file__).resolve().parents[3]


def dataset_with(folder: Path, captions: dict[str, tuple[str | None, str]], suffix: str = ".txt") -> Dataset:
    """``{stem: (existing caption file text or None, staged caption)}``."""
    items = []
    for index, (stem, (existing, staged)) in enumerate(captions.items()):
        image = write_image(np.full((8, 8, 3), index % 256, np.uint8), folder / f"{stem}.png")
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
    assert outcome.backup_folder.parent.parent == tmp_path / "backups"  # backups/<folder>-<hash>/<time>
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
new = "NEW " * 255
items = tuple(
    DatasetItem(path, new, "edited", path.with_suffix(".txt")) for path in sorted(folder.glob("*.png"))
)
print("ready", flush=True)
write_caption_files(Dataset(folder=folder, items=items), Path(sys.argv[3]))
"""


def test_a_crash_at_any_moment_leaves_each_caption_old_or_new(tmp_path):
    old, new = "OLD " * 250, "NEW " * 255  # near the 1 KB a written caption may have
    rng = random.Random(7)
    states = set()
    for attempt in range(12):
        folder = tmp_path / f"attempt{attempt}"
        dataset_with(folder, {f"p{index:03d}": (old, new) for index in range(100)})  # ~0.8 s of writes
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(REPO_ROOT), str(folder), str(tmp_path / "backups")],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 1.0))
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
        for caption in folder.glob("*.txt"):
            text = caption.read_text()
            assert text in (old, new), f"{caption.name}: {len(text)} characters, neither old nor new"
            states.add(text == new)
    assert states == {False, True}  # the kills landed before, during and after the writes


def test_captions_are_written_only_under_a_writable_root(tmp_path):
    folder = tmp_path / "elsewhere" / "photos"
    dataset = dataset_with(folder, {"a": ("old", "zxqv, new")})
    with pytest.raises(CaptionWriteRefused, match="written back only inside") as refused:
        write_caption_files(dataset, tmp_path / "backups", [tmp_path / "input"])
    assert "writable_roots" in refused.value.fix and (folder / "a.txt").read_text() == "old"
    assert write_caption_files(dataset, tmp_path / "backups", [tmp_path / "elsewhere"]).written


def test_a_long_or_multiline_caption_or_a_huge_file_is_not_written(tmp_path):
    folder = tmp_path / "photos"
    dataset = dataset_with(
        folder,
        {"long": ("old", "zxqv, " + "x" * 1100), "two": ("old", "zxqv\nsecond"), "ok": ("old", "zxqv, ok")},
    )
    huge = dataset_with(tmp_path / "huge", {"big": ("y" * (65 * 1024), "zxqv, short")})
    outcome = write_caption_files(dataset, tmp_path / "backups")
    assert [p.name for p in outcome.written] == ["ok.txt"]
    assert {p.name for p, why in outcome.skipped if "1024 bytes" in why} == {"long.txt", "two.txt"}
    big = write_caption_files(huge, tmp_path / "backups")
    assert big.written == [] and "larger than 64 KB" in big.skipped[0][1]
    assert (tmp_path / "huge" / "big.txt").stat().st_size == 65 * 1024


def test_backups_are_bounded_by_count_per_folder_and_total_size(tmp_path, monkeypatch):
    import identity_core.dataset.caption_files as caption_files

    backups = tmp_path / "backups"
    folder = tmp_path / "photos"
    made = []
    for round_number in range(caption_files.BACKUPS_PER_FOLDER + 3):
        dataset = dataset_with(folder, {"a": (f"old {round_number}", f"zxqv, new {round_number}")})
        made.append(write_caption_files(dataset, backups).backup_folder)
    (per_folder,) = list(backups.iterdir())
    kept = sorted(p.name for p in per_folder.iterdir())
    assert kept == sorted(p.name for p in made[-caption_files.BACKUPS_PER_FOLDER :])  # the oldest went first
    monkeypatch.setattr(caption_files, "BACKUP_BYTES", 20)  # a few backups of ~10 bytes
    other = dataset_with(tmp_path / "other", {"b": ("0123456789", "zxqv, b")})
    newest = write_caption_files(other, backups).backup_folder
    left = [backup for folder_backups in backups.iterdir() for backup in folder_backups.iterdir()]
    assert newest in left and sum(f.stat().st_size for b in left for f in b.iterdir()) <= 20
