import numpy as np

from identity_core.evaluation.pipeline import evaluate_sweep
from identity_core.evaluation.thresholds import Thresholds
from identity_core.reports.chart import similarity_chart
from tests.identity_core.evaluation.fakes import FAKE_SCALE, FakeBackend, make_sweep, one_person_reference


def _report(control_leaks: bool):
    backend = FakeBackend()
    reference = one_person_reference(backend)
    table = {}
    for strength, similarity in ((0.5, 0.3), (0.8, 0.65), (1.0, 0.8)):
        table[("portrait", strength)] = similarity
        table[("style", strength)] = similarity - 0.1
        table[("control", strength)] = 0.8 if control_leaks and strength == 1.0 else 0.1
    return evaluate_sweep(make_sweep(backend, table), reference, backend, Thresholds.from_scale(FAKE_SCALE))


def _red_pixels(image):
    r, g, b = (image[..., i].astype(int) for i in range(3))
    return int(np.sum((r > 200) & (g < 60) & (b < 60)))


def test_chart_is_an_rgb_image_of_the_requested_size():
    chart = similarity_chart(_report(control_leaks=False), width_px=600, height_px=400)
    assert chart.shape == (400, 600, 3) and chart.dtype == np.uint8
    assert chart.std() > 10  # something was drawn


def test_leakage_is_marked_in_red():
    clean = similarity_chart(_report(control_leaks=False))
    leaking = similarity_chart(_report(control_leaks=True))
    assert _red_pixels(leaking) > _red_pixels(clean) + 50
