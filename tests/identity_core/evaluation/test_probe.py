"""Probing past the design sweep: only when likeness still rises at the top and misses the target."""

from identity_core.evaluation.probe import decide_probes
from identity_core.evaluation.thresholds import Thresholds
from tests.identity_core.evaluation.fakes import FakeBackend, make_sweep, one_person_reference


def _decisions(table):
    backend = FakeBackend()
    reference = one_person_reference(backend)
    sweep = make_sweep(backend, table)
    return decide_probes(sweep, reference, backend, Thresholds.from_scale(backend.scale))


def _table(by_strength, style=0.9, control=0.9):
    table = {}
    for strength, value in by_strength.items():
        table[("portrait", strength)] = value
        table[("environment", strength)] = value
        table[("style", strength)] = style  # never read: only identity prompts decide
        table[("control", strength)] = control
    return table


def test_rising_and_below_the_target_probes_1_5_and_2_0():
    (decision,) = _decisions(_table({0.5: 0.2, 0.8: 0.3, 1.0: 0.4, 1.2: 0.5}))
    assert decision.strengths == (1.5, 2.0)
    assert "1: 0.40, 1.2: 0.50" in decision.reason
    assert "beyond the evaluation protocol's sweep" in decision.reason


def test_a_reached_target_or_a_flat_curve_probes_nothing():
    (reached,) = _decisions(_table({1.0: 0.5, 1.2: 0.7}))
    (flat,) = _decisions(_table({1.0: 0.4, 1.2: 0.4}))
    assert reached.strengths == () and flat.strengths == ()
    assert "does not call for probes beyond 1.2" in flat.reason


def test_no_face_and_a_single_strength_probe_nothing():
    (faceless,) = _decisions(_table({1.0: None, 1.2: None}))
    assert faceless.strengths == () and "no identity face measured" in faceless.reason
    (single,) = _decisions(_table({1.2: 0.3}))
    assert single.strengths == () and "no trend" in single.reason


def test_only_probes_above_the_highest_strength_swept():
    (decision,) = _decisions(_table({1.2: 0.3, 1.5: 0.4}))
    assert decision.strengths == (2.0,)
