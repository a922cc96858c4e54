"""The loss curve image: read from the bridge's loss.csv / validation.csv layout, drawn with matplotlib."""

import numpy as np

from identity_core.reports.loss_chart import (
    LossPoint,
    loss_chart,
    phase_starts,
    read_loss_points,
    read_validation_points,
)


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_steps_in_order_and_skips_non_finite_rows(tmp_path):
    csv_path = write(
        tmp_path / "loss.csv",
        "step,loss,sec_per_step,phase\n3,0.5,1.2,train\n1,0.7,,train\n2,nan,1.1,train\nx,0.1,,train\n",
    )
    assert read_loss_points(csv_path) == [LossPoint(1, 0.7, "train"), LossPoint(3, 0.5, "train")]
    assert read_loss_points(tmp_path / "absent.csv") == []
    val = write(tmp_path / "validation.csv", "step,val_loss\n2,0.9\n4,0.8\n")
    assert [(p.step, p.loss) for p in read_validation_points(val)] == [(2, 0.9), (4, 0.8)]


def test_phase_starts_mark_two_phase_runs():
    points = [LossPoint(1, 1.0, "te_phase1"), LossPoint(2, 0.9, "te_phase1"), LossPoint(3, 0.8, "te_phase2")]
    assert phase_starts(points) == [(1, "te_phase1"), (3, "te_phase2")]


def test_chart_is_an_rgb_image_and_validation_changes_it():
    training = [LossPoint(step, 1.0 / step, "train") for step in range(1, 50)]
    plain = loss_chart(training, width_px=400, height_px=300)
    assert plain.dtype == np.uint8 and plain.shape == (300, 400, 3)
    with_validation = loss_chart(
        training, [LossPoint(10, 0.5), LossPoint(40, 0.3)], width_px=400, height_px=300
    )
    assert with_validation.shape == plain.shape
    # orange validation markers appear only in the second chart
    orange = np.array([255, 127, 14])

    def orange_pixels(image):
        return int((np.abs(image.astype(int) - orange).sum(axis=2) < 40).sum())

    assert orange_pixels(plain) == 0 and orange_pixels(with_validation) > 20


def test_empty_chart_still_renders():
    image = loss_chart([], [], title="nothing yet", width_px=300, height_px=200)
    assert image.shape == (200, 300, 3) and image.std() > 0  # axes and the "no loss" text
