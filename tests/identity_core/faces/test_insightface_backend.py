"""insightface code paths with stand-in ONNX models built here (no real pack weights).

The stand-ins have the I/O signatures of SCRFD and ArcFace but are not face models: the
detector never fires and the "ArcFace" is a fixed random projection. They prove routing,
folder checks, alignment and embedding plumbing, not identity accuracy.
"""

import numpy as np
import pytest

from devkit.photos import grace_hopper, rotated
from devkit.stand_in_onnx import stand_in_pack
from identity_core.faces import FaceBackendError, cosine, load_backend
from identity_core.faces.insightface_backend import InsightFaceBackend, find_pack


@pytest.fixture(scope="module")
def pack_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("insightface")
    stand_in_pack(root / "models" / "buffalo_l")
    return root


@pytest.fixture(scope="module")
def backend(pack_root):
    return InsightFaceBackend(pack_root / "models" / "buffalo_l")


@pytest.fixture
def no_download(monkeypatch):
    """Fail the test if insightface ever tries to fetch a pack."""
    import insightface.app.face_analysis as face_analysis

    def refuse(*args, **kwargs):
        raise AssertionError(f"insightface tried to download: {args}")

    monkeypatch.setattr(face_analysis, "ensure_available", refuse)


def test_pack_is_found_and_named(pack_root, no_download):
    choice = load_backend([str(pack_root)], "auto")
    assert choice.backend.name == "insightface buffalo_l"
    assert str(pack_root / "models" / "buffalo_l") in choice.message
    assert choice.backend.providers[-1] == "CPUExecutionProvider"


def test_missing_pack_falls_back_to_the_offline_default_and_names_the_folder(tmp_path, no_download):
    choice = load_backend([str(tmp_path)], "auto")
    assert choice.backend.name.startswith("CenterFace + dlib")
    assert str(tmp_path / "models" / "antelopev2") in choice.message
    assert "Using CenterFace + dlib 128-d" in choice.message


def test_insightface_required_but_missing_is_a_clear_error(tmp_path, no_download):
    with pytest.raises(FaceBackendError, match="No insightface model pack found") as error:
        load_backend([str(tmp_path)], "insightface", pack="antelopev2")
    assert str(tmp_path / "models" / "antelopev2") in str(error.value)


def test_empty_pack_folder_is_not_handed_to_insightface(tmp_path, no_download):
    (tmp_path / "models" / "antelopev2").mkdir(parents=True)
    choice = load_backend([str(tmp_path)], "auto")
    assert not choice.backend.name.startswith("insightface")


def test_nested_unzip_mistake_gets_a_fix(tmp_path, no_download):
    stand_in_pack(tmp_path / "models" / "antelopev2" / "antelopev2")
    search = find_pack([tmp_path])
    assert search.pack_dir is None
    with pytest.raises(FaceBackendError, match="one folder too deep") as error:
        load_backend([str(tmp_path)], "insightface")
    assert "move the .onnx files" in str(error.value)


def test_pack_without_detector_is_a_readable_error(tmp_path):
    stand_in_pack(tmp_path / "models" / "buffalo_l", detector=False)
    with pytest.raises(FaceBackendError, match="no face detection model"):
        load_backend([str(tmp_path)], "insightface")


def test_explicit_pack_name_is_respected(pack_root):
    with pytest.raises(FaceBackendError, match="antelopev2"):
        load_backend([str(pack_root)], "insightface", pack="antelopev2")
    assert load_backend([str(pack_root)], "insightface", pack="buffalo_l").backend.name.endswith("buffalo_l")


def test_unknown_preference_is_rejected():
    with pytest.raises(FaceBackendError, match="choose one of"):
        load_backend([], "mtcnn")


def test_embedding_follows_the_face_through_rotation(backend):
    """Alignment + the stand-in recogniser: the same face rotated gives nearly the same vector,
    an unaligned crop does not."""
    from identity_core.faces.dlib_backend import DlibBackend

    dlib_backend = DlibBackend()
    image = grace_hopper()
    reference_kps = dlib_backend.analyze(image)[0].kps
    reference = backend.embed(image, reference_kps)
    assert reference.shape == (512,)
    assert np.linalg.norm(reference) == pytest.approx(1.0, abs=1e-5)
    turned = rotated(image, 20)
    turned_kps = dlib_backend.analyze(turned)[0].kps
    assert cosine(reference, backend.embed(turned, turned_kps)) > 0.95
    mirrored_order = reference_kps[[1, 0, 2, 4, 3]]
    assert cosine(reference, backend.embed(image, mirrored_order)) < 0.9


def test_embedding_matches_insightface_own_pipeline(backend):
    import warnings

    from insightface.app.common import Face as InsightFace

    image = grace_hopper()
    kps = np.array([[220, 270], [310, 270], [265, 320], [228, 365], [302, 365]], np.float32)
    recognition = backend._app.models["recognition"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        theirs = recognition.get(np.ascontiguousarray(image[..., ::-1]), InsightFace(kps=kps))
    assert cosine(theirs, backend.embed(image, kps)) == pytest.approx(1.0, abs=1e-6)


def test_stand_in_detector_finds_nothing(backend):
    assert backend.analyze(grace_hopper()) == []


def test_raw_insightface_face_conversion_uses_pose_when_present(backend):
    from insightface.app.common import Face as InsightFace

    image = grace_hopper()
    kps = np.array([[220, 270], [310, 270], [265, 320], [228, 365], [302, 365]], np.float32)
    pose = np.array([5.0, -33.0, 2.0])
    raw = InsightFace(bbox=np.array([180, 220, 350, 400]), kps=kps, det_score=0.9, pose=pose)
    face = backend._to_face(image, raw)
    assert (face.pitch, face.yaw, face.roll) == (5.0, -33.0, 2.0)
    assert face.bbox == (180.0, 220.0, 350.0, 400.0)
    assert face.embedding.shape == (512,)
    without_pose = backend._to_face(image, InsightFace(bbox=raw.bbox, kps=kps, det_score=0.9))
    assert abs(without_pose.yaw) < 20
