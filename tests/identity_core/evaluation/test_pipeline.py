import pytest

from identity_core.evaluation.pipeline import EvaluationCancelled, measure_sweep
from tests.identity_core.evaluation.fakes import FakeBackend, make_sweep, one_person_reference

LIKENESS = {("portrait", 0.5): 0.3, ("portrait", 1.0): 0.7, ("environment", 1.0): 0.6, ("control", 1.0): 0.1}


def test_two_threads_measure_what_one_does_in_the_sweeps_order():
    backend = FakeBackend()
    reference = one_person_reference(backend)
    sweep = make_sweep(backend, LIKENESS)
    progress = []
    alone = measure_sweep(sweep, reference, backend, workers=1)
    together = measure_sweep(
        sweep, reference, backend, on_image=lambda done, total: progress.append((done, total)), workers=2
    )
    assert [m.similarity for m in together] == pytest.approx([m.similarity for m in alone])
    assert progress == [(index, len(sweep.entries)) for index in range(1, len(sweep.entries) + 1)]


def test_a_cancel_during_scoring_stops_the_threads():
    backend = FakeBackend()
    reference = one_person_reference(backend)
    sweep = make_sweep(backend, LIKENESS)
    asked = []

    def cancel_after_three() -> bool:
        asked.append(1)
        return len(asked) > 3

    with pytest.raises(EvaluationCancelled):
        measure_sweep(sweep, reference, backend, should_cancel=cancel_after_three, workers=2)
    assert len(asked) <= 5 < len(sweep.entries)  # each thread asks at most once after the cancel
