"""Fixtures shared by the identity_core tests."""

import pytest


@pytest.fixture(scope="module")
def offline_backend():
    """The offline default face backend (CenterFace + dlib 128-d), closed after the module."""
    from identity_core.faces.centerface_backend import CenterFaceBackend

    backend = CenterFaceBackend()
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def dlib_backend():
    """The real dlib backend (public-domain weights from face_recognition_models), loaded once."""
    from identity_core.faces.dlib_backend import DlibBackend

    return DlibBackend()
