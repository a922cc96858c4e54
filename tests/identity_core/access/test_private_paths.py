"""Messages name places (input/, models/, <work folder>), never the server's absolute paths."""

from __future__ import annotations

import pytest

from identity_core.access import (
    PathLabels,
    RootOverlapsWorkFolderError,
    hide_in_error,
    private_paths_hidden,
    refuse_roots_over,
)
from identity_core.errors import IdentityError


def labels(base):
    return PathLabels(
        [(base / "input", "input"), (base / "models", "models"), (base / "work", "<work folder>")]
    )


def test_places_are_replaced_by_their_labels_and_longer_names_are_left_alone(tmp_path):
    text = (
        f"'{tmp_path}/input/anna/01.jpg' and {tmp_path}/models/loras/x and {tmp_path}/input2/y "
        f"and /x{tmp_path}/work"
    )
    hidden = labels(tmp_path).hide(text)
    assert "'input/anna/01.jpg'" in hidden and " models/loras/x" in hidden
    assert f"{tmp_path}/input2/y" in hidden  # another folder that only starts like input
    assert f"/x{tmp_path}/work" in hidden  # not a whole path
    assert labels(tmp_path).hide(f"File: {tmp_path}/work. Or {tmp_path}/work.old") == (
        f"File: <work folder>. Or {tmp_path}/work.old"
    )


def test_errors_keep_their_type_and_lose_the_paths(tmp_path):
    with pytest.raises(IdentityError) as caught, private_paths_hidden(labels(tmp_path)):
        raise IdentityError("Cannot read", "check it", path=tmp_path / "work" / "train" / "engine.log")
    assert str(tmp_path) not in str(caught.value) and "<work folder>/train/engine.log" in str(caught.value)
    error = FileNotFoundError(2, "No such file or directory", str(tmp_path / "input" / "x.jpg"))
    hide_in_error(error, labels(tmp_path))
    assert str(error) == "[Errno 2] No such file or directory: 'input/x.jpg'"
    plain = ValueError(f"bad {tmp_path}/models/a")
    hide_in_error(plain, labels(tmp_path))
    assert str(plain) == "bad models/a"


def test_an_allowed_root_that_overlaps_the_work_folder_is_refused(tmp_path):
    work = tmp_path / "base" / "work"
    refuse_roots_over(work, [tmp_path / "photos"])
    for root in (tmp_path / "base", work, work / "train"):
        with pytest.raises(RootOverlapsWorkFolderError, match="overlaps the pack's private work folder"):
            refuse_roots_over(work, [tmp_path / "photos", root])
