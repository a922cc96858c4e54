"""dlib's 128-d embedding on a chip aligned from five keypoints, run by PyTorch, or by dlib in this
process or in helper processes (real model, registry photos)."""

import sys

import numpy as np
import pytest

from devkit.photos import astronaut, grace_hopper
from identity_core.faces import cosine
from identity_core.faces.centerface_backend import CenterFaceBackend
from identity_core.faces.dlib_backend import DlibBackend
from identity_core.faces.dlib_encoder import CHIP_SIZE, DlibEncoder, dlib_chip


@pytest.fixture(scope="module")
def detector():
    return CenterFaceBackend(embedding_processes=0)


def _kps(detector, image):
    (found,) = detector.detect(image)
    return found.kps


def test_chip_from_keypoints_matches_dlibs_own_chip(detector):
    hog = DlibBackend()
    for image in (grace_hopper(), astronaut()):
        (own,) = hog.analyze(image)  # dlib's HOG box, 5-point predictor and chip
        ours = DlibEncoder().embed(image, _kps(detector, image))
        assert cosine(own.embedding, ours) > 0.95
        assert dlib_chip(image, _kps(detector, image)).shape == (CHIP_SIZE, CHIP_SIZE, 3)


def test_helper_processes_give_the_same_embedding_and_stop_on_close(detector):
    image = grace_hopper()
    kps = _kps(detector, image)
    helpers = DlibEncoder(helper_processes=2, runtime="dlib")
    assert helpers.note == ""
    processes = [net._process for net in helpers._all]
    assert len(processes) == 2 and all(p.poll() is None for p in processes)
    in_process = DlibEncoder(runtime="dlib").embed(image, kps)
    np.testing.assert_allclose(helpers.embed(image, kps), in_process, atol=1e-6)
    helpers.close()
    assert all(p.poll() is not None for p in processes)


def test_helpers_that_cannot_start_fall_back_to_this_process(detector, monkeypatch):
    monkeypatch.setattr(sys, "executable", sys.executable + "-missing")
    encoder = DlibEncoder(helper_processes=2, runtime="dlib")
    assert "dlib embeddings run in one process" in encoder.note
    image = astronaut()
    assert np.linalg.norm(encoder.embed(image, _kps(detector, image))) == pytest.approx(1.0, abs=1e-5)


def test_pytorch_runs_the_embedding_when_installed_and_gives_dlibs_own(detector):
    image = grace_hopper()
    kps = _kps(detector, image)
    in_torch, in_dlib = DlibEncoder(helper_processes=2), DlibEncoder(runtime="dlib")
    assert (in_torch.runtime_name, in_dlib.runtime_name) == ("PyTorch", "dlib")
    assert in_torch._all == ()  # no helper processes: PyTorch releases Python's lock
    np.testing.assert_allclose(in_torch.embed(image, kps), in_dlib.embed(image, kps), atol=1e-5)
