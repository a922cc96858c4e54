"""Bad inputs: each gives a clear finding or error, and the folder stays byte-for-byte unchanged."""

import io
import os

import numpy as np
import pytest
from PIL import Image

from devkit.photos import folder_snapshot, grace_hopper, write_image
from identity_core.dataset.scan import ANALYSIS_LONG_SIDE, DatasetFolderError, scan_folder


def _jpeg_bytes(image: np.ndarray, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", **options)
    return buffer.getvalue()


@pytest.fixture
def messy_folder(tmp_path):
    folder = tmp_path / "my phötos (ünïcode)"
    photo = grace_hopper()
    write_image(photo, folder / "good one.jpg")
    (folder / "truncated.jpg").write_bytes(_jpeg_bytes(photo)[:4000])
    (folder / "not really.png").write_bytes(b"this is a text file with an image name")
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4 nothing")
    Image.fromarray(photo).convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray(photo[..., 0].astype(np.uint16) * 257).save(folder / "sixteen.png")
    rgba = np.dstack([photo, np.full(photo.shape[:2], 128, np.uint8)])
    write_image(rgba, folder / "alpha.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90 degrees clockwise to view
    Image.fromarray(np.ascontiguousarray(np.rot90(photo))).save(folder / "rotated.jpg", exif=exif)
    (folder / "good one.txt").write_text("ohwx, a woman in uniform", encoding="utf-8")
    (folder / "cmyk.txt").write_bytes("ohwx, a woman, café".encode("cp1252"))
    (folder / "orphan.txt").write_text("nobody", encoding="utf-8")
    return folder


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetFolderError, match="does not exist"):
        scan_folder(tmp_path / "nope")


def test_a_file_is_not_a_folder(tmp_path):
    path = write_image(grace_hopper(), tmp_path / "one.jpg")
    with pytest.raises(DatasetFolderError, match="is a file, not a folder"):
        scan_folder(path)


def test_empty_folder_scans_to_nothing(tmp_path):
    scan = scan_folder(tmp_path)
    assert scan.images == [] and scan.other_files == []


def test_every_bad_input_is_reported_and_nothing_is_written(messy_folder):
    before = folder_snapshot(messy_folder)
    scan = scan_folder(messy_folder)
    records = {r.path.name: r for r in scan.images}
    assert records["good one.jpg"].readable
    assert records["good one.jpg"].caption == "ohwx, a woman in uniform"
    assert "truncated" in records["truncated.jpg"].error
    assert "not an image" in records["not really.png"].error
    assert records["cmyk.jpg"].mode == "CMYK" and records["cmyk.jpg"].readable
    assert records["cmyk.jpg"].caption_error.startswith("not UTF-8")
    assert records["cmyk.jpg"].caption == "ohwx, a woman, café"  # best-effort Windows-1252 reading
    assert records["sixteen.png"].bit_depth == 16
    # scaled back to 8 bits, not clipped to white as a plain convert("RGB") would
    assert abs(records["sixteen.png"].pixels[..., 0].mean() - grace_hopper()[..., 0].mean()) < 1.0
    assert records["alpha.png"].has_alpha
    rotated = records["rotated.jpg"]
    assert rotated.exif_orientation == 6
    assert rotated.pixels.shape[:2] == grace_hopper().shape[:2]  # shown upright
    assert [p.name for p in scan.other_files] == ["notes.pdf"]
    assert [p.name for p in scan.orphan_captions] == ["orphan.txt"]
    assert folder_snapshot(messy_folder) == before


def test_huge_image_is_reduced_for_analysis(tmp_path):
    path = write_image(np.zeros((4000, 6000, 3), np.uint8), tmp_path / "huge.png")
    (record,) = scan_folder(tmp_path).images
    assert (record.width, record.height) == (6000, 4000)
    assert max(record.pixels.shape[:2]) == ANALYSIS_LONG_SIDE
    assert record.analysis_scale == pytest.approx(ANALYSIS_LONG_SIDE / 6000)
    assert path.exists()


def test_large_jpeg_is_decoded_reduced_and_upright(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 8  # stored rotated: displayed after turning 90 degrees counter-clockwise
    image = np.zeros((3000, 4000, 3), np.uint8)
    image[:, :2000] = 255  # left half white as stored
    Image.fromarray(image).save(tmp_path / "phone.jpg", exif=exif, quality=90)
    (record,) = scan_folder(tmp_path).images
    assert (record.width, record.height, record.exif_orientation) == (4000, 3000, 8)
    assert record.pixels.shape == (ANALYSIS_LONG_SIDE, 768, 3)  # upright: portrait
    assert record.analysis_scale == pytest.approx(ANALYSIS_LONG_SIDE / 4000)
    assert record.pixels[-10, :, 0].mean() > 200 and record.pixels[10, :, 0].mean() < 50


def test_decompression_bomb_is_refused(tmp_path, monkeypatch):
    write_image(np.zeros((600, 600, 3), np.uint8), tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)
    (record,) = scan_folder(tmp_path).images
    assert "too large" in record.error


def test_the_packs_own_limits_hold_when_pil_has_none(tmp_path, monkeypatch):
    """Other packs switch PIL's pixel limit off; the pack's own limits still bound what it reads."""
    from identity_core.dataset import scan as scan_module

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    monkeypatch.setattr(scan_module, "MAX_IMAGE_PIXELS", 300_000)
    monkeypatch.setattr(scan_module, "MAX_CAPTION_BYTES", 1000)
    monkeypatch.setattr(scan_module, "MAX_FOLDER_ENTRIES", 6)
    write_image(np.zeros((600, 600, 3), np.uint8), tmp_path / "a_huge.png")  # 360,000 pixels
    write_image(np.zeros((60, 60, 3), np.uint8), tmp_path / "b_fine.png")
    (tmp_path / "b_fine.txt").write_text("x" * 5000)
    (tmp_path / "c_unreadable.png").write_bytes(b"")
    (tmp_path / "c_unreadable.txt").write_text("a caption")
    (tmp_path / "c_unreadable.txt").chmod(0)
    outside = tmp_path.parent / f"{tmp_path.name}_outside.png"
    write_image(np.zeros((60, 60, 3), np.uint8), outside)
    (tmp_path / "d_link.png").symlink_to(outside)
    for index in range(3):
        (tmp_path / f"z{index}.bin").write_bytes(b"")
    scan = scan_folder(tmp_path)
    records = {r.path.name: r for r in scan.images}
    assert records["a_huge.png"].over_limit and records["a_huge.png"].pixels is None
    assert not records["a_huge.png"].readable and records["b_fine.png"].readable
    assert records["b_fine.png"].caption is None and "larger than" in records["b_fine.png"].caption_error
    if os.geteuid() != 0:  # root reads any file
        assert "cannot be read" in records["c_unreadable.png"].caption_error
    assert [p.name for p in scan.links_outside] == ["d_link.png"] and "d_link.png" not in records
    assert scan.unlisted == 3  # 9 entries, 6 looked at


def test_limits_become_findings_that_leave_images_out_without_failing(tmp_path, monkeypatch):
    from identity_core.dataset import scan as scan_module
    from identity_core.dataset.checks import check_limits
    from identity_core.dataset.result import ImageResult

    monkeypatch.setattr(scan_module, "MAX_IMAGE_PIXELS", 300_000)
    write_image(np.zeros((600, 600, 3), np.uint8), tmp_path / "huge.png")
    scan = scan_folder(tmp_path)
    findings = check_limits([ImageResult(r) for r in scan.images], unlisted=4, links_outside=[tmp_path / "l"])
    assert [(f.check, f.severity) for f in findings] == [
        ("over_limit", "warn"),
        ("too_many_entries", "warn"),
        ("links_outside", "warn"),
    ]
    assert "huge.png" in findings[0].message and "Resize" in findings[0].fix
