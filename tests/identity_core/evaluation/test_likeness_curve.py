"""Likeness over training on real photos: samples that show other people early, the subject later
and copies of a training photo at the end give the curve, the best checkpoint and the plateau."""

from __future__ import annotations

import pytest

from devkit.photos import astronaut, brightened, camera, grace_hopper, on_canvas, resized, rotated
from identity_core.evaluation.likeness_curve import LikenessCurve, LikenessPoint, PlateauRule
from identity_core.evaluation.live_likeness import LiveLikeness, likeness_prompts
from identity_core.evaluation.pose_probe import pose_probe, probe_for_measured_poses
from identity_core.evaluation.reference import build_reference
from identity_core.faces.pose import FRONT, PROFILE, THREE_QUARTER


def curve_of(values, losses):
    curve = LikenessCurve()
    for step, (value, loss) in enumerate(zip(values, losses, strict=True), start=1):
        point = curve.point(step * 100)
        point.similarities, point.samples, point.loss = [value], 1, loss
    return curve


def test_the_plateau_is_likeness_flat_while_loss_falls():
    rule = PlateauRule(patience=3, margin=0.01)
    rising = curve_of([0.80, 0.85, 0.90, 0.93, 0.95, 0.96], [0.5, 0.45, 0.4, 0.38, 0.36, 0.35])
    assert rule.find(rising.points) is None
    flat = curve_of([0.80, 0.90, 0.95, 0.955, 0.951, 0.949, 0.95], [0.5, 0.45, 0.4, 0.38, 0.36, 0.35, 0.34])
    plateau = rule.find(flat.points)
    assert (plateau.began_at, plateau.seen_at, plateau.best_step) == (400, 600, 300)
    assert "Loss still dropping" in plateau.describe() and "step 400" in plateau.describe()
    loss_rises = curve_of([0.80, 0.90, 0.95, 0.95, 0.95, 0.95], [0.5, 0.45, 0.4, 0.41, 0.42, 0.43])
    assert rule.find(loss_rises.points) is None  # flat likeness with a rising loss is not this signal
    assert flat.best().step == 400 and flat.best(margin=0.01).step == 300


def test_pose_probe_asks_for_the_rarest_pose():
    notes = {f"a{i}.jpg": {"pose": FRONT} for i in range(12)} | {"b.jpg": {"pose": THREE_QUARTER}}
    probe = pose_probe(notes)
    assert probe.pose == PROFILE and "profile" in probe.template
    assert (
        probe.follows(35.0)
        and probe.follows(-60.0)
        and not probe.follows(5.0)
        and probe.follows(None) is None
    )
    assert pose_probe({"a.jpg": {"pose": PROFILE}, "b.jpg": {"pose": THREE_QUARTER}}).pose == FRONT
    assert "0 profile" in probe.describe()


def test_no_probe_without_a_measured_pose_and_the_probe_renders_like_any_prompt():
    assert probe_for_measured_poses(None) is None
    assert probe_for_measured_poses({"a.jpg": {"pose": ""}, "b.jpg": {}}) is None  # not measured
    probe = probe_for_measured_poses({"a.jpg": {"pose": FRONT}, "b.jpg": {"pose": ""}})
    assert probe.pose == PROFILE
    text = probe.spec.render("ohwx", "woman")
    assert text.startswith("a side profile photo of ohwx woman") and "{" not in text
    (probe_prompt,) = [p for p in likeness_prompts("ohwx", "woman", 42, probe) if p.role == probe.spec.role]
    assert probe_prompt.text == text


@pytest.fixture(scope="module")
def live(offline_backend):
    """The offline default backend (it sees turned heads) and Grace Hopper's training photos."""
    notes = {"a.jpg": {"pose": FRONT}, "b.jpg": {"pose": FRONT}}
    probe = pose_probe(notes)
    prompts = likeness_prompts("ohwx", "woman", seed=42, probe=probe, preview="ohwx at the beach")
    grace = grace_hopper()
    reference = build_reference(
        [("grace.jpg", grace), ("grace_bright.jpg", brightened(grace, 1.2))], offline_backend
    )
    return LiveLikeness(offline_backend, reference, prompts, probe), prompts


def test_samples_build_the_curve_with_the_best_checkpoint(live):
    scorer, prompts = live
    assert [p.prompt_id for p in prompts] == [
        "portrait",
        "portrait",
        "environment",
        "environment",
        "pose_probe",
        "preview",
    ]
    assert [p.seed for p in prompts[:4]] == [42, 43, 42, 43]
    grace = grace_hopper()
    early = [astronaut(), on_canvas(astronaut(), (640, 640)), astronaut(), astronaut()]  # someone else
    middle = [resized(grace, 0.8), rotated(grace, 8), on_canvas(grace, (700, 700)), resized(grace, 0.9)]
    for step, images in ((250, early), (500, middle)):
        for index, image in enumerate(images):
            scorer.add_sample(step, index, image)
    assert scorer.add_sample(500, 5, grace) is None  # the user's preview is not on the curve
    turned = scorer.add_sample(500, 4, camera())  # the cameraman's head is turned: the probe followed
    assert turned.pose_probe_followed is True
    points = {p.step: p for p in scorer.curve.points}
    assert points[250].likeness < points[500].likeness and points[500].face_rate == 1.0
    assert scorer.curve.best().step == 500 and scorer.curve.latest_following_pose() == 500


def test_loss_is_attached_per_checkpoint_window():
    curve = LikenessCurve([LikenessPoint(2), LikenessPoint(4)])
    curve.attach_losses([(1, 1.0), (2, 0.8), (3, 0.6), (4, 0.4)], window=2)
    assert [p.loss for p in curve.points] == pytest.approx([0.9, 0.5])


def test_a_saved_curve_reads_back_with_its_copy_signals_and_diversity():
    curve = curve_of([0.9, 0.95], [0.5, 0.4])
    curve.points[1].copies, curve.points[1].diversity = ["copies train_03.jpg"], 0.25
    read = LikenessCurve.from_dict(curve.to_dict())
    assert read.points[1].copied and read.points[1].copies == ["copies train_03.jpg"]
    assert read.points[1].diversity == pytest.approx(0.25) and read.points[0].diversity is None
