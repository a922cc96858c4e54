"""Fixtures shared by the identity_core tests."""

import pytest


@pytest.fixture(scope="session")
def dlib_backend():
    """The real dlib backend (public-domain weights from face_recognition_models), loaded once."""
    from identity_core.faces.dlib_backend import DlibBackend

    return DlibBackend()
