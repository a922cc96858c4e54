"""The private work folder is outside every served folder, and errors hide its absolute path."""

from __future__ import annotations

import json

import pytest

from identity_core.access import ServedWorkFolderError, hide_private_paths, read_settings, work_folder
from identity_core.errors import IdentityError


def served(base):
    return [base / name for name in ("input", "output", "temp", "user")]


def test_the_default_is_beside_the_served_folders(tmp_path):
    folder = work_folder(tmp_path, served(tmp_path))
    assert folder == (tmp_path / "identity_lora_work").resolve() and folder.is_dir()
    assert oct(folder.stat().st_mode & 0o777) == "0o700"


@pytest.mark.parametrize("inside", ["output/work", "input", "user/default/identity", "."])
def test_a_served_place_is_refused(tmp_path, inside):
    with pytest.raises(ServedWorkFolderError, match="is served by ComfyUI") as refused:
        work_folder(tmp_path, served(tmp_path), tmp_path / inside)
    assert "IDENTITY_LORA_WORK_DIR" in refused.value.fix


def test_settings_come_from_the_file_beside_the_pack_and_the_environment(tmp_path):
    (tmp_path / "identity_lora_server.json").write_text(
        json.dumps({"allowed_roots": ["/data/sets"], "work_folder": "/srv/work"})
    )
    settings = read_settings(tmp_path, {"IDENTITY_LORA_ALLOWED_ROOTS": "/more/a:/more/b"})
    assert [str(p) for p in settings.extra_roots] == ["/data/sets", "/more/a", "/more/b"]
    assert str(settings.work_folder) == "/srv/work"
    assert str(read_settings(tmp_path, {"IDENTITY_LORA_WORK_DIR": "/elsewhere"}).work_folder) == "/elsewhere"
    (tmp_path / "identity_lora_server.json").write_text("{not json")
    with pytest.raises(IdentityError, match="settings file cannot be read"):
        read_settings(tmp_path, {})


def test_errors_name_the_work_folder_not_its_path(tmp_path):
    with pytest.raises(IdentityError) as caught, hide_private_paths(tmp_path):
        raise IdentityError("The engine log is full", "read it", path=tmp_path / "train" / "engine.log")
    assert str(tmp_path) not in str(caught.value)
    assert "<work folder>/train/engine.log" in str(caught.value)
