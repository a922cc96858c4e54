"""Staging: the user's folder is never written; captions come from memory; stale caches cannot survive."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from PIL import Image

from sd_scripts_bridge.model import DatasetImage
from sd_scripts_bridge.plan.staging import DatasetInputError, plan_staging, stage_dataset

CACHE_INPUTS = {"t5xxl_max_token_length": None}


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``folder``: content hash and mtime (byte-for-byte and untouched)."""
    return {
        str(path.relative_to(folder)): (
            hashlib.sha256(path.read_bytes()).hexdigest(),
            path.stat().st_mtime_ns,
        )
        for path in sorted(folder.rglob("*"))
    }


@pytest.fixture
def user_folder(tmp_path):
    folder = tmp_path / "user_dataset"
    folder.mkdir()
    for index in range(3):
        Image.new("RGB", (40, 30), (index * 60, 0, 0)).save(folder / f"photo {index}.JPG")
        (folder / f"photo {index}.txt").write_text("the user's own caption file\n")
    return folder


def images_of(folder: Path, caption: str | None = "ohwx person, outdoors") -> tuple[DatasetImage, ...]:
    return tuple(DatasetImage(path, caption) for path in sorted(folder.glob("*.JPG")))


def test_staging_never_writes_the_users_folder(tmp_path, user_folder):
    before = snapshot(user_folder)
    layout = plan_staging(tmp_path / "run", images_of(user_folder), (), CACHE_INPUTS)
    assert stage_dataset(layout)
    # The engine writes caches next to the staged images; simulate that too.
    (layout.subject_dir / "0001_photo_0_0040x0032_flux.npz").write_bytes(b"latents")
    (layout.subject_dir / "0001_photo_0_flux_te.npz").write_bytes(b"te")
    layout2 = plan_staging(tmp_path / "run", images_of(user_folder, "ohwx person, edited"), (), CACHE_INPUTS)
    stage_dataset(layout2)
    assert snapshot(user_folder) == before


def test_staged_images_and_captions(tmp_path, user_folder):
    images = images_of(user_folder)
    layout = plan_staging(
        tmp_path / "run", (*images[:2], DatasetImage(images[2].image_path, None)), (), CACHE_INPUTS
    )
    stage_dataset(layout)
    staged = sorted(path.name for path in layout.subject_dir.iterdir())
    assert staged == ["0001_photo_0.jpg", "0001_photo_0.txt", "0002_photo_1.jpg", "0002_photo_1.txt",
                      "0003_photo_2.jpg"]  # fmt: skip
    assert (layout.subject_dir / "0001_photo_0.txt").read_text() == "ohwx person, outdoors\n"
    assert (layout.subject_dir / "0001_photo_0.jpg").read_bytes() == images[0].image_path.read_bytes()
    assert layout.reg_dir is None


def test_captions_are_one_line(tmp_path, user_folder):
    layout = plan_staging(
        tmp_path / "run", images_of(user_folder, "ohwx person,\n  smiling\r\n"), (), CACHE_INPUTS
    )
    stage_dataset(layout)
    assert (layout.subject_dir / "0001_photo_0.txt").read_text() == "ohwx person, smiling\n"


def test_same_names_from_two_folders_do_not_collide(tmp_path):
    paths = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        Image.new("RGB", (8, 8), (0, 0, 200 if name == "a" else 10)).save(tmp_path / name / "face.png")
        paths.append(DatasetImage(tmp_path / name / "face.png", "ohwx person"))
    layout = plan_staging(tmp_path / "run", paths, (), CACHE_INPUTS)
    stage_dataset(layout)
    assert len(list(layout.subject_dir.glob("*.png"))) == 2


def test_regularization_subset(tmp_path, user_folder):
    reg_folder = tmp_path / "reg"
    reg_folder.mkdir()
    Image.new("RGB", (8, 8)).save(reg_folder / "r.webp")
    layout = plan_staging(
        tmp_path / "run", images_of(user_folder), (DatasetImage(reg_folder / "r.webp"),), CACHE_INPUTS
    )
    stage_dataset(layout)
    assert sorted(path.name for path in layout.reg_dir.iterdir()) == ["0001_r.webp"]


def test_unchanged_dataset_is_reused_with_its_caches(tmp_path, user_folder):
    layout = plan_staging(tmp_path / "run", images_of(user_folder), (), CACHE_INPUTS)
    assert stage_dataset(layout) is True
    cache = layout.subject_dir / "0001_photo_0_flux_te.npz"
    cache.write_bytes(b"te cache")
    again = plan_staging(tmp_path / "run", images_of(user_folder), (), CACHE_INPUTS)
    assert again.key == layout.key
    assert stage_dataset(again) is False
    assert cache.exists()


@pytest.mark.parametrize("change", ["caption", "image", "model"])
def test_changes_rebuild_the_folder_so_no_stale_cache_survives(tmp_path, user_folder, change):
    layout = plan_staging(tmp_path / "run", images_of(user_folder), (), CACHE_INPUTS)
    stage_dataset(layout)
    stale = layout.subject_dir / "0001_photo_0_flux_te.npz"
    stale.write_bytes(b"embeddings of the old caption")
    caption, inputs = "ohwx person, outdoors", CACHE_INPUTS
    if change == "caption":
        caption = "ohwx person, indoors"
    elif change == "image":
        Image.new("RGB", (40, 30), (1, 2, 3)).save(tmp_path / "other.JPG")
        os.replace(tmp_path / "other.JPG", user_folder / "photo 0.JPG")
    else:
        inputs = {"t5xxl_max_token_length": 64}
    changed = plan_staging(tmp_path / "run", images_of(user_folder, caption), (), inputs)
    assert changed.key != layout.key
    assert stage_dataset(changed) is True
    assert not stale.exists()
    assert (changed.subject_dir / "0001_photo_0.txt").read_text() == caption + "\n"
    assert not list((tmp_path / "run").glob("dataset.*"))  # no partial or stale folders left


def test_staged_photos_are_copies_never_links(tmp_path, user_folder):
    layout = plan_staging(tmp_path / "run", images_of(user_folder), (), CACHE_INPUTS)
    stage_dataset(layout)
    staged = layout.subject_dir / "0001_photo_0.jpg"
    original = user_folder / "photo 0.JPG"
    assert staged.read_bytes() == original.read_bytes()
    assert staged.stat().st_ino != original.stat().st_ino and original.stat().st_nlink == 1
    before = original.read_bytes()
    staged.write_bytes(b"written through the run folder")  # e.g. an upload into the run folder
    assert original.read_bytes() == before


def test_an_exif_rotated_photo_is_staged_upright(tmp_path):
    folder = tmp_path / "phone"
    folder.mkdir()
    sideways = Image.new("RGB", (60, 40), (200, 10, 10))
    sideways.paste((10, 10, 200), (0, 0, 20, 40))  # a blue band on the stored image's left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view": the camera held upright stored it sideways
    sideways.save(folder / "portrait.jpg", exif=exif, quality=95)
    layout = plan_staging(tmp_path / "run", images_of_any(folder), (), CACHE_INPUTS)
    stage_dataset(layout)
    (staged,) = layout.subject
    assert staged.rotated and staged.staged_name == "0001_portrait.png"
    with Image.open(layout.subject_dir / staged.staged_name) as upright:
        assert upright.size == (40, 60)  # portrait, as a person sees it
        assert "exif" not in upright.info or upright.getexif().get(0x0112, 1) == 1
        top_pixel = upright.convert("RGB").getpixel((20, 2))
    assert top_pixel[2] > 150  # the blue band went to the top, as ImageOps.exif_transpose turns it


def images_of_any(folder: Path) -> tuple[DatasetImage, ...]:
    return tuple(DatasetImage(path, "ohwx person") for path in sorted(folder.iterdir()))


def test_dataset_hash_depends_on_content_not_folder(tmp_path, user_folder):
    first = plan_staging(tmp_path / "run", images_of(user_folder), (), CACHE_INPUTS)
    moved = tmp_path / "moved"
    moved.mkdir()
    for path in user_folder.iterdir():
        (moved / path.name).write_bytes(path.read_bytes())
    second = plan_staging(tmp_path / "run", images_of(moved), (), CACHE_INPUTS)
    assert first.dataset_hash == second.dataset_hash


def test_plan_staging_refuses_bad_datasets(tmp_path):
    with pytest.raises(DatasetInputError, match="no images"):
        plan_staging(tmp_path / "run", (), (), CACHE_INPUTS)
    with pytest.raises(DatasetInputError, match="does not exist") as caught:
        plan_staging(tmp_path / "run", (DatasetImage(tmp_path / "x.png"),), (), CACHE_INPUTS)
    assert caught.value.path == tmp_path / "x.png"


def test_prepare_run_dir_writes_what_the_plan_needs(tmp_path):
    from sd_scripts_bridge.plan.build import build_plan
    from sd_scripts_bridge.plan.staging import prepare_run_dir
    from tests.sd_scripts_bridge import plan_builders as builders

    request = builders.make_request(tmp_path, sample_prompts=("ohwx person",), save_every_n_steps=5)
    before = snapshot(tmp_path / "dataset")
    plan = build_plan(request, builders.make_engine(tmp_path))
    prepare_run_dir(plan)
    assert plan.dataset_toml_path.read_text() == plan.dataset_toml
    assert plan.sample_prompts_path.read_text() == plan.sample_prompts_text
    assert len(list(plan.staging.subject_dir.glob("*.png"))) == 20
    assert plan.phases[0].output_dir.is_dir() and plan.phases[0].engine_log.parent.is_dir()
    assert snapshot(tmp_path / "dataset") == before
