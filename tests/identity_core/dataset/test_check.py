"""DatasetCheck end to end with the real dlib backend on derived photos."""

import json

import numpy as np
import pytest

from devkit.photos import (
    astronaut,
    blurred,
    collage,
    cropped,
    flipped,
    folder_snapshot,
    grace_hopper,
    group_photo,
    on_canvas,
    subject_variants,
    write_image,
)
from identity_core.dataset.check import check_dataset
from identity_core.dataset.model import FAIL, WARN
from identity_core.dataset.report import render_contact_sheet, render_text, save_json_report
from identity_core.dataset.scan import DatasetFolderError


@pytest.fixture(scope="module")
def backend():
    from identity_core.faces.dlib_backend import DlibBackend

    return DlibBackend()


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("check")
    subject = root / "subject photos"
    variants = subject_variants(grace_hopper(), 16)
    for index, image in enumerate(variants):
        write_image(image, subject / f"grace {index:02d}.jpg", quality=92)
    write_image(flipped(variants[3]), subject / "mirror copy.jpg", quality=92)
    write_image(blurred(variants[5], 6), subject / "soft.jpg", quality=92)
    write_image(collage([grace_hopper(), astronaut()], tile=512), subject / "two people.jpg")
    write_image(np.full((700, 700, 3), 90, np.uint8), subject / "wall.jpg")
    (subject / "grace 00.txt").write_text("ohwx, a woman in uniform", encoding="utf-8")
    regularization = root / "regularization"
    people = [
        astronaut(),
        cropped(group_photo(), 0.0, 0.25, 0.2, 0.5),
        cropped(group_photo(), 0.8, 0.25, 1.0, 0.5),
    ]
    for index, person in enumerate(people):
        write_image(
            on_canvas(person, (640, 640), (40 * index, 90, 160)), regularization / f"person {index}.jpg"
        )
    write_image(grace_hopper(), regularization / "the subject.jpg")
    return subject, regularization


@pytest.fixture(scope="module")
def result(folders, backend):
    subject, regularization = folders
    before = folder_snapshot(subject), folder_snapshot(regularization)
    checked = check_dataset(subject, backend, regularization_folder=regularization)
    assert (folder_snapshot(subject), folder_snapshot(regularization)) == before
    return checked


def _finding(result, check):
    matches = [f for f in result.findings if f.check == check]
    assert matches, f"no {check} finding in {[f.check for f in result.findings]}"
    return matches[0]


def test_verdict_and_backend_are_reported(result):
    assert result.verdict == FAIL
    assert result.dataset.face_backend.startswith("dlib")
    assert "dlib" in render_text(result).splitlines()[1]


def test_several_faces_fail_and_leave_the_dataset(result):
    finding = _finding(result, "several_faces")
    assert finding.severity == FAIL and finding.files == ("two people.jpg",)
    assert "two people.jpg" not in [p.name for p in result.dataset.image_paths]
    assert "identity bleed" in finding.message


def test_no_face_is_flagged(result):
    finding = _finding(result, "no_face")
    assert finding.severity == WARN and "wall.jpg" in finding.files


def test_mirrored_duplicate_is_found(result):
    finding = _finding(result, "duplicates")
    assert "mirror copy.jpg" in finding.files and "grace 03.jpg" in finding.files


def test_blur_is_found(result):
    assert "soft.jpg" in _finding(result, "blur").files


def test_same_person_and_angle_findings(result):
    assert _finding(result, "identity").severity == "pass"
    pose = _finding(result, "pose")
    assert pose.severity == WARN and pose.measured["front"] >= 15


def test_regularization_subject_and_count(result):
    lookalike = _finding(result, "regularization_subject")
    assert lookalike.severity == FAIL and lookalike.files == ("the subject.jpg",)
    assert _finding(result, "regularization_count").severity == WARN
    assert len(result.dataset.regularization.items) == 3


def test_captions_are_carried_in_memory(result):
    items = {item.image_path.name: item for item in result.dataset.items}
    assert items["grace 00.jpg"].caption == "ohwx, a woman in uniform"
    assert items["grace 01.jpg"].caption is None
    notes = result.dataset.extra["image_notes"]
    assert notes["grace 00.jpg"]["pose"] == "front"


def test_json_report_and_contact_sheet(result, tmp_path, folders):
    save_json_report(result, tmp_path / "out")
    path = result.dataset.report_path
    assert path.parent == tmp_path / "out"
    payload = json.loads(path.read_text(encoding="utf-8"))
    assert payload["verdict"] == FAIL and payload["face_backend"].startswith("dlib")
    assert {f["check"] for f in payload["findings"]} >= {"count", "several_faces", "duplicates", "blur"}
    assert len(payload["images"]) == 20
    sheet = render_contact_sheet(result, tile_size=128, columns=6)
    assert sheet.dtype == np.uint8 and sheet.shape[1] == 6 * 128
    assert sheet.shape[0] == 4 * (128 + 56)  # 24 tiles (20 subject + 4 regularization) in 4 rows
    assert path.name in render_text(result) and str(path.parent) not in render_text(result)


def test_progress_is_reported_per_image_and_can_cancel(folders, backend):
    subject, _ = folders
    calls = []

    class Cancelled(Exception):
        pass

    def on_progress(done, total):
        calls.append((done, total))
        if done == 3:
            raise Cancelled

    with pytest.raises(Cancelled):
        check_dataset(subject, backend, on_progress=on_progress)
    assert calls == [(1, 20), (2, 20), (3, 20)]


def test_empty_folder_fails_on_count(tmp_path, backend):
    result = check_dataset(tmp_path, backend)
    assert result.verdict == FAIL
    assert _finding(result, "count").measured == 0
    assert result.dataset.items == ()


def test_missing_folder_is_an_error(tmp_path, backend):
    with pytest.raises(DatasetFolderError, match="does not exist"):
        check_dataset(tmp_path / "missing", backend)
