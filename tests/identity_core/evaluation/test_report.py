import json

import numpy as np
import pytest

from identity_core.evaluation.errors import EvaluationError
from identity_core.evaluation.model import Sweep
from identity_core.evaluation.pipeline import EvaluationCancelled, evaluate_sweep
from identity_core.evaluation.reference import build_reference
from identity_core.evaluation.thresholds import Thresholds
from tests.identity_core.evaluation.fakes import (
    FAKE_SCALE,
    FakeBackend,
    embedding_with_similarity,
    face,
    make_sweep,
    noise_image,
    one_person_reference,
)


def test_report_json_holds_every_image_and_cell(tmp_path):
    backend = FakeBackend()
    reference = one_person_reference(backend)
    sweep = make_sweep(backend, {("portrait", 0.8): 0.7, ("portrait", 1.0): 0.8, ("control", 0.8): 0.1})
    sweep.settings = {"steps": 4, "guidance": 3.5}
    report = evaluate_sweep(
        sweep, reference, backend, Thresholds.from_scale(FAKE_SCALE), backend_message="test backend"
    )
    data = json.loads(report.write_json(tmp_path / "r" / "report.json").read_text())
    assert data["backend"] == {"name": "constructed faces (test)", "message": "test backend"}
    assert len(data["images"]) == 9 and len(data["cells"]) == 3
    assert data["recommendation"]["strength"] == 0.8 and data["recommendation"]["passed"] is True
    assert data["settings"]["steps"] == 4
    assert data["images"][0]["best_reference"].startswith("train_")
    text = report.to_text()
    assert "Face backend: constructed faces (test)" in text and "portrait [identity] @ 0.8: 0.70" in text


def test_plain_images_are_scored_without_a_recommendation():
    backend = FakeBackend()
    reference = one_person_reference(backend)
    rng = np.random.default_rng(0)
    images = [backend.register(noise_image(s), [face(embedding_with_similarity(0.9, rng))]) for s in range(2)]
    images.append(noise_image(77))  # no face registered
    report = evaluate_sweep(Sweep.from_images(images), reference, backend, Thresholds.from_scale(FAKE_SCALE))
    assert report.recommendation.strength == 0.0 and not report.recommendation.passed
    text = report.to_text()
    assert "no strength to recommend" in text and "image 2: no face" in text
    assert "similarity 0.90" in text


def test_reference_without_any_face_is_a_clear_error():
    backend = FakeBackend()
    with pytest.raises(EvaluationError) as caught:
        build_reference([("a.jpg", noise_image(1)), ("b.jpg", noise_image(2))], backend)
    message = str(caught.value)
    assert "No face was found in any of the 2 reference images" in message and "What to do" in message


def test_reference_lists_images_without_face():
    backend = FakeBackend()
    one = backend.register(noise_image(1), [face(embedding_with_similarity(0.9, np.random.default_rng(1)))])
    reference = build_reference([("a.jpg", one), ("b.jpg", noise_image(2))], backend)
    assert reference.labels == ["a.jpg"] and reference.without_face == ["b.jpg"]


def test_empty_sweep_and_cancel():
    backend = FakeBackend()
    reference = one_person_reference(backend)
    with pytest.raises(EvaluationError):
        evaluate_sweep(Sweep(entries=[]), reference, backend, Thresholds.from_scale(FAKE_SCALE))
    sweep = make_sweep(backend, {("portrait", 1.0): 0.7})
    with pytest.raises(EvaluationCancelled):
        evaluate_sweep(
            sweep, reference, backend, Thresholds.from_scale(FAKE_SCALE), should_cancel=lambda: True
        )


def test_replacing_images_needs_one_per_sweep_entry():
    from identity_core.evaluation.model import with_images

    backend = FakeBackend()
    sweep = make_sweep(backend, {("portrait", 1.0): 0.7})
    replaced = with_images(sweep, [noise_image(i) for i in range(3)])
    assert [e.seed for e in replaced.entries] == [e.seed for e in sweep.entries]
    assert np.array_equal(replaced.entries[2].image, noise_image(2))
    with pytest.raises(EvaluationError) as caught:
        with_images(sweep, [noise_image(0)])
    assert "The image batch has 1 images but the sweep has 3" in str(caught.value)
