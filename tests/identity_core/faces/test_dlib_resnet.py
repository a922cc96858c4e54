"""dlib's face ResNet run by PyTorch against dlib's own runtime, on real faces: the registry
photos, and the shared multi-pose set when it is present."""

from __future__ import annotations

import numpy as np
import pytest

from devkit.photos import astronaut, grace_hopper
from devkit.real_faces import shared_faces_dir
from identity_core.faces import FaceBackendError
from identity_core.faces.dlib_encoder import EMBEDDING_FILE, dlib_chip, dlib_model_file, import_dlib
from identity_core.faces.dlib_resnet import DlibResNet, read_dlib_weights


@pytest.fixture(scope="module")
def chips(offline_backend):
    """Aligned 150x150 chips of every face CenterFace finds in the real photos at hand."""
    from PIL import Image

    images = [grace_hopper(), astronaut()]
    shared = shared_faces_dir()
    if shared is not None:
        paths = sorted(p for p in shared.glob("*/*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        images += [np.asarray(Image.open(p).convert("RGB")) for p in paths[:: max(len(paths) // 16, 1)]]
    found = []
    for image in images:
        found += [dlib_chip(image, face.kps) for face in offline_backend.detect(image)]
    return np.stack(found)


def test_pytorch_gives_dlibs_own_descriptors(chips):
    path = dlib_model_file(EMBEDDING_FILE)
    dlib_net = import_dlib().face_recognition_model_v1(str(path))
    theirs = np.stack([np.array(dlib_net.compute_face_descriptor(chip), np.float32) for chip in chips])
    ours = DlibResNet.from_file(path).descriptors(chips)
    assert len(chips) >= 2 and ours.shape == theirs.shape == (len(chips), 128)
    cosines = (ours * theirs).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
    assert cosines.min() > 0.9999
    np.testing.assert_allclose(ours, theirs, atol=1e-4)


def test_another_dlib_file_is_refused_with_its_name():
    landmarks = dlib_model_file("shape_predictor_5_face_landmarks.dat")
    with pytest.raises(FaceBackendError) as refused:
        read_dlib_weights(landmarks)
    text = str(refused.value)
    assert "does not have the expected layout" in text and landmarks.name in text
    assert "pip install --force-reinstall face_recognition_models" in text


def test_a_file_cut_short_is_refused_and_the_encoder_falls_back_to_dlib(tmp_path, monkeypatch):
    from identity_core.faces import dlib_encoder

    real = dlib_model_file(EMBEDDING_FILE)
    cut = tmp_path / EMBEDDING_FILE
    cut.write_bytes(real.read_bytes()[: real.stat().st_size // 2])
    with pytest.raises(FaceBackendError, match="does not have the expected layout"):
        read_dlib_weights(cut)
    monkeypatch.setattr(dlib_encoder, "dlib_model_file", lambda name: cut if name == EMBEDDING_FILE else real)
    monkeypatch.setattr(dlib_encoder, "_InProcessNet", lambda path: ("dlib's own network", path))
    encoder = dlib_encoder.DlibEncoder()
    assert encoder.runtime_name == "dlib" and encoder._all == (("dlib's own network", cut),)
    assert encoder.note.startswith("dlib embeddings run in dlib, not PyTorch")
    assert EMBEDDING_FILE in encoder.note
