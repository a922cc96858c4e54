"""Overfit detectors on constructed cases: identical seeds versus varied seeds."""

import numpy as np
import pytest

from identity_core.evaluation.measure import measure_image
from identity_core.evaluation.reference import build_reference
from identity_core.evaluation.signals import (
    carbon_copies,
    diversity,
    is_same_pose,
    memorisations,
    pose_spread,
    seed_consistency,
    seed_pairs,
)
from identity_core.evaluation.thresholds import Thresholds
from tests.identity_core.evaluation.fakes import (
    FAKE_SCALE,
    REFERENCE_DIRECTION,
    FakeBackend,
    embedding_with_similarity,
    face,
    noise_image,
)

THRESHOLDS = Thresholds.from_scale(FAKE_SCALE)


def _reference(backend, count=3):
    """Reference photos of one person: embeddings near one direction, each its own."""
    rng = np.random.default_rng(99)
    images = [
        backend.register(noise_image(1000 + i), [face(embedding_with_similarity(0.9, rng))])
        for i in range(count)
    ]
    return build_reference([(f"ref{i}.jpg", img) for i, img in enumerate(images)], backend)


def test_identical_seeds_are_carbon_copies_with_the_same_pose():
    backend = FakeBackend()
    reference = _reference(backend)
    image = backend.register(noise_image(7), [face(embedding_with_similarity(0.8, np.random.default_rng(0)))])
    measures = [measure_image(image.copy(), backend, reference) for _ in range(3)]
    assert is_same_pose(pose_spread(measures), THRESHOLDS)
    copies = carbon_copies(seed_pairs([1, 2, 3], measures), THRESHOLDS)
    assert [(c.seed_a, c.seed_b, c.phash_distance) for c in copies] == [(1, 2, 0), (1, 3, 0), (2, 3, 0)]
    assert diversity(measures) == pytest.approx(0.0, abs=1e-9)
    # float32 dot products of identical unit vectors can round past 1; the code clamps to [-1, 1]
    assert seed_consistency(measures) == pytest.approx(1.0, abs=1e-6)
    assert seed_consistency(measures) <= 1.0


def test_varied_seeds_raise_no_overfit_signal():
    backend = FakeBackend()
    reference = _reference(backend)
    rng = np.random.default_rng(1)
    poses = [
        (-12.0, (10.0, 14.0, 40.0, 44.0)),
        (3.0, (20.0, 18.0, 56.0, 54.0)),
        (15.0, (14.0, 8.0, 38.0, 32.0)),
    ]
    measures = []
    for seed, (yaw, box) in enumerate(poses):
        image = backend.register(noise_image(seed), [face(embedding_with_similarity(0.8, rng), yaw, box)])
        measures.append(measure_image(image, backend, reference))
    spread = pose_spread(measures)
    assert spread.yaw_sd > THRESHOLDS.pose_sd_degrees
    assert not is_same_pose(spread, THRESHOLDS)
    assert carbon_copies(seed_pairs([0, 1, 2], measures), THRESHOLDS) == []
    assert diversity(measures) > 0.3
    assert memorisations([0, 1, 2], measures, THRESHOLDS) == []
    # The centroid of three references at 0.9 to the identity direction: cosine 0.8 * 0.96
    assert all(0.74 < m.similarity < 0.8 for m in measures)


def test_same_pose_with_different_backgrounds_is_caught_by_pose_not_by_hash():
    backend = FakeBackend()
    reference = _reference(backend)
    rng = np.random.default_rng(2)
    measures = [
        measure_image(
            backend.register(noise_image(s), [face(embedding_with_similarity(0.8, rng))]), backend, reference
        )
        for s in range(4)
    ]
    assert is_same_pose(pose_spread(measures), THRESHOLDS)
    assert carbon_copies(seed_pairs([0, 1, 2, 3], measures), THRESHOLDS) == []


def test_too_few_faces_never_claim_same_pose():
    backend = FakeBackend()
    reference = _reference(backend)
    image = backend.register(noise_image(3), [face(REFERENCE_DIRECTION)])
    measures = [measure_image(image, backend, reference) for _ in range(2)]
    assert not is_same_pose(pose_spread(measures), THRESHOLDS)


def test_near_copy_of_one_training_image_is_memorisation_and_the_same_person_alone_is_not():
    backend = FakeBackend()
    reference = _reference(backend)
    training_image = noise_image(1001)  # reference "ref1.jpg"
    brighter = np.clip(training_image.astype(int) + 6, 0, 255).astype(np.uint8)
    backend.register(brighter, backend.analyze(training_image))  # the same face as ref1
    # another picture of the person, more like the reference identity than the copy is
    other = backend.register(noise_image(55), [face(REFERENCE_DIRECTION)])
    measures = [measure_image(img, backend, reference) for img in (brighter, other)]
    found = memorisations([10, 11], measures, THRESHOLDS)
    assert [(m.seed, m.reference_label) for m in found] == [(10, "ref1.jpg")]
    evidence = found[0].evidence
    assert evidence.crop_match >= THRESHOLDS.copy_crop_match and evidence.similarity >= THRESHOLDS.same_person
    assert measures[1].similarity > measures[0].similarity  # the person, more like the identity...
    assert measures[1].copy.crop_match < THRESHOLDS.copy_crop_match  # ...but not this photo again
