"""The likeness monitor on real photos: a run whose samples show other people first, then the
subject (photos the LoRA was not trained on), fed as the engine's events, gives the curve; the
early stop fires when likeness stays flat while the loss falls, and keeps the best checkpoint."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from devkit.real_faces import load_upright, shared_faces_dir
from identity_core.evaluation.likeness_monitor import LikenessMonitor, read_likeness
from identity_core.evaluation.live_likeness import LiveLikeness, likeness_prompts
from identity_core.evaluation.pose_probe import pose_probe
from identity_core.evaluation.reference import build_reference
from identity_core.evaluation.thresholds import Thresholds
from identity_core.faces.pose import FRONT

FACES = shared_faces_dir()
pytestmark = pytest.mark.skipif(FACES is None, reason="the real face photos (shared/faces) are not here")
EVERY = 100


@dataclass(frozen=True)
class Event:
    kind: str
    step: int
    loss: float | None = None
    path: Path | None = None
    sample_index: int | None = None


def photo(name: str) -> np.ndarray:
    return load_upright(FACES / name)


@pytest.fixture(scope="module")
def subject(offline_backend):
    training = [photo("obama/frontal_1.jpg"), photo("obama/frontal_2.jpg")]
    reference = build_reference([(f"train_{i}.jpg", p) for i, p in enumerate(training)], offline_backend)
    third, fourth = photo("obama/frontal_3.jpg"), photo("obama/frontal_4.jpg")
    return reference, [third, fourth, fourth, third]  # two different photos per prompt


def monitor_for(backend, reference, patience: int | None) -> LikenessMonitor:
    probe = pose_probe({"a.jpg": {"pose": FRONT}})
    prompts = likeness_prompts("ohwx", "man", seed=42, probe=probe)
    live = LiveLikeness(backend, reference, prompts, probe)
    margin = Thresholds.from_scale(backend.scale).checkpoint_margin
    return LikenessMonitor(live, EVERY, EVERY, margin, patience)


def feed_step(monitor, folder: Path, step: int, images, loss: float):
    monitor.observe(Event("step", step, loss=loss))
    update = None
    for index, image in enumerate(images):
        path = folder / f"run_{step:06d}_{index:02d}_20261129000000_{42 + index}.png"
        Image.fromarray(image).save(path)
        update = monitor.observe(Event("sample", step, path=path, sample_index=index)) or update
    return update


def others() -> list[np.ndarray]:
    names = ["cc0avatar_006/frontal_1.jpg", "cc0avatar_014/frontal_1.jpg", "cc0avatar_028/frontal_1.jpg"]
    return [photo(name) for name in names] + [photo("cc0avatar_047/frontal_1.jpg")]


def test_the_curve_rises_then_the_early_stop_keeps_the_first_best_checkpoint(
    offline_backend, subject, tmp_path
):
    reference, unseen = subject
    monitor = monitor_for(offline_backend, reference, patience=3)
    schedule = [others(), others(), unseen, unseen, unseen, unseen]
    updates = []
    for n, images in enumerate(schedule, start=1):
        updates.append(feed_step(monitor, tmp_path, n * EVERY, images, loss=0.5 - 0.03 * n))
        if monitor.stop is not None:
            break
    steps = [u.step for u in updates]
    assert steps == [100, 200, 300, 400, 500, 600]
    likeness = [u.likeness for u in updates]
    same_person = Thresholds.from_scale(offline_backend.scale).same_person
    assert max(likeness[:2]) < same_person < min(likeness[2:]), likeness
    stop = monitor.stop
    assert stop is not None and (stop.at_step, stop.kept_step) == (600, 300)
    assert "from step 400" in stop.reason and "Loss still dropping" in stop.reason
    assert monitor.plateau.began_at == 400


def test_no_stop_while_the_loss_rises_or_without_patience(offline_backend, subject, tmp_path):
    reference, unseen = subject
    rising_loss = monitor_for(offline_backend, reference, patience=3)
    no_rule = monitor_for(offline_backend, reference, patience=None)
    for n, images in enumerate([others(), unseen, unseen, unseen, unseen], start=1):
        feed_step(rising_loss, tmp_path, n * EVERY, images, loss=0.3 + 0.02 * n)
        feed_step(no_rule, tmp_path, n * EVERY, images, loss=0.5 - 0.03 * n)
    assert rising_loss.stop is None and no_rule.stop is None
    assert no_rule.best_checkpoint() == 200


def test_a_resampled_step_replaces_its_samples_and_the_curve_is_saved(offline_backend, subject, tmp_path):
    reference, unseen = subject
    monitor = monitor_for(offline_backend, reference, patience=None)
    feed_step(monitor, tmp_path, 100, others(), loss=0.4)
    first = monitor.curve.get(100).likeness
    again = feed_step(monitor, tmp_path, 100, unseen, loss=0.4)  # a resumed run sampled step 100 again
    assert monitor.curve.get(100).samples == 4 and again.likeness > first
    assert monitor.observe(Event("sample", 200, path=tmp_path / "missing.png", sample_index=0)) is None
    monitor.save(tmp_path)
    saved = read_likeness(tmp_path).curve
    assert [p.step for p in saved.points] == [100]
    assert saved.points[0].likeness == pytest.approx(again.likeness)
