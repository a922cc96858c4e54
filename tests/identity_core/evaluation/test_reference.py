"""The reference identity built from real photos, and built only once when a run needs it twice."""

from __future__ import annotations

from devkit.photos import brightened, grace_hopper
from identity_core.evaluation.reference import ReferenceOnce, build_reference


class CountingBackend:
    """The real backend, counting the images it analyses."""

    def __init__(self, backend) -> None:
        self.backend = backend
        self.name = backend.name
        self.scale = backend.scale
        self.analysed = 0

    def analyze(self, image):
        self.analysed += 1
        return self.backend.analyze(image)


def test_a_reference_needed_twice_is_analysed_once(offline_backend):
    grace = grace_hopper()
    photos = [("grace.jpg", grace), ("grace_bright.jpg", brightened(grace, 1.2))]
    loads = []
    reference_once = ReferenceOnce(lambda: loads.append(1) or photos)
    counting = CountingBackend(offline_backend)

    first = reference_once.identity(counting)  # the coarse pass over the checkpoints
    again = reference_once.identity(counting)  # the probe beyond the sweep
    assert again is first and counting.analysed == 2 and len(loads) == 1
    built_directly = build_reference(photos, offline_backend)
    assert first.labels == built_directly.labels == ["grace.jpg", "grace_bright.jpg"]
    assert reference_once.photos() is reference_once.photos() and len(loads) == 1
