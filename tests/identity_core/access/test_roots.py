"""Folder inputs are confined to ComfyUI's input folder and the roots the server owner lists."""

from __future__ import annotations

import pytest

from identity_core.access import OutsideAllowedRootsError, allowed_roots, confine_folder, is_inside


def test_relative_folders_start_in_the_input_folder(tmp_path):
    input_dir = tmp_path / "input"
    (input_dir / "anna").mkdir(parents=True)
    roots = allowed_roots(input_dir)
    assert confine_folder("anna", roots) == (input_dir / "anna").resolve()
    assert confine_folder(str(input_dir / "anna") + "/", roots) == (input_dir / "anna").resolve()
    assert confine_folder("not yet there", roots) == (input_dir / "not yet there").resolve()


def test_escapes_are_refused_without_naming_the_roots_and_with_how_to_add_one(tmp_path):
    input_dir, outside = tmp_path / "input", tmp_path / "outside"
    input_dir.mkdir()
    outside.mkdir()
    (input_dir / "link").symlink_to(outside, target_is_directory=True)
    roots = allowed_roots(input_dir)
    for text in (str(outside), "../outside", "link", "/", "~"):
        with pytest.raises(OutsideAllowedRootsError) as refused:
            confine_folder(text, roots, "folder")
        message = str(refused.value)
        assert str(tmp_path) not in message and "IDENTITY_LORA_ALLOWED_ROOTS" in message
        assert "identity_lora_server.json" in message and "Input: folder" in message


def test_an_owner_listed_root_is_allowed(tmp_path):
    input_dir, photos = tmp_path / "input", tmp_path / "photo sets"
    (photos / "anna").mkdir(parents=True)
    roots = allowed_roots(input_dir, [photos])
    assert confine_folder(str(photos / "anna"), roots) == (photos / "anna").resolve()
    assert is_inside(photos / "anna", photos) and not is_inside(photos, photos / "anna")
    with pytest.raises(OutsideAllowedRootsError, match="No folder was given"):
        confine_folder("  ", roots)
