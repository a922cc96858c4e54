"""Sample images name their checkpoint step and prompt: the engine's file names parsed into global
steps and prompt indexes (two-phase plans too), "earlier sample" events when a run resumes, and
per-prompt seeds and steps in the prompt file and the request key (stand-in engine, no server)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from PIL import Image

from devkit.stand_in_engine import stand_in
from sd_scripts_bridge.errors import BridgeError, TrainingCancelledError
from sd_scripts_bridge.job import JOB_PHASE, run_job
from sd_scripts_bridge.model import EngineSamplePrompt
from sd_scripts_bridge.plan.build import build_plan
from sd_scripts_bridge.plan.request_key import request_key
from sd_scripts_bridge.plan.sample_prompts import SAMPLE_STEPS
from sd_scripts_bridge.run.runner import run_training
from sd_scripts_bridge.run.samples import place_sample, sample_identity
from tests.sd_scripts_bridge.plan_builders import make_engine, make_request
from tests.sd_scripts_bridge.test_job import Events, job_request

PROMPTS = ("ohwx person, portrait", EngineSamplePrompt("ohwx person, profile", seed=7, steps=3))


@pytest.fixture(autouse=True)
def fast_stand_in(stand_in_pace):
    stand_in_pace(0.02)


def samples(events) -> list:
    return [e for e in events if e.kind == "sample"]


@pytest.mark.parametrize(
    ("name", "output_name", "expected"),
    [
        ("person_v1_000250_00_20260101120000_42.png", "person_v1", (250, 0)),
        ("person_v1_000250_03_20260101120000.png", "person_v1", (250, 3)),  # no seed: no suffix
        ("person_v1_1250000_112_20260101120000_7.png", "person_v1", (1250000, 112)),
        ("person_v1_te_phase1_000004_01_20260101120000_42.png", "person_v1_te_phase1", (4, 1)),
        # phase 1's images are not phase 2's, whose output name is a prefix of phase 1's
        ("person_v1_te_phase1_000004_01_20260101120000_42.png", "person_v1", None),
        ("person_v1_e000001_00_20260101120000_42.png", "person_v1", None),  # an epoch sample
        ("person_v1_000250_00_2026010112_42.png", "person_v1", None),
        ("other_000250_00_20260101120000_42.png", "person_v1", None),
        ("person_v1_000250_00_20260101120000_42.jpg", "person_v1", None),
    ],
)
def test_sample_names_parse_into_step_and_prompt_index(name, output_name, expected):
    assert sample_identity(Path(name), output_name) == expected


def test_two_phase_sample_names_are_placed_at_global_steps(tmp_path, engine):
    plan = stand_in.make_plan(tmp_path, engine, steps=8, two_phase=True)
    first = place_sample(Path("identity_te_phase1_000004_01_20260101120000_42.png"), plan)
    second = place_sample(Path("identity_000004_00_20260101120000_42.png"), plan)
    assert (first.phase, first.step, first.index) == ("te_phase1", 4, 1)
    assert (second.phase, second.step, second.index) == ("te_phase2", 8, 0)
    assert place_sample(Path("identity_000009_00_20260101120000_42.png"), plan) is None  # beyond phase 2


def test_sample_events_carry_the_global_step_and_prompt_index(tmp_path, engine):
    request = job_request(tmp_path, sample_prompts=PROMPTS, sample_every_n_steps=2)
    events = Events()
    run_job(request, engine, on_event=events.append)
    assert [(e.step, e.sample_index) for e in samples(events)] == [
        (2, 0), (2, 1), (4, 0), (4, 1), (6, 0), (6, 1),
    ]  # fmt: skip
    assert all(e.path.name.endswith("_42.png" if e.sample_index == 0 else "_7.png") for e in samples(events))
    # the step's images come before its checkpoint, as the engine writes them
    kinds = [(e.kind, e.step) for e in events if e.kind in ("sample", "checkpoint")]
    assert kinds.index(("sample", 4)) < kinds.index(("checkpoint", 4))


def test_two_phase_sample_events_count_over_both_phases(tmp_path, engine):
    plan = stand_in.make_plan(tmp_path, engine, steps=8, save_every=2, two_phase=True, sample_prompts=PROMPTS)
    events = Events()
    run_training(plan, engine, on_event=events.append)
    placed = [(e.phase, e.step, e.sample_index) for e in samples(events)]
    assert placed == [
        (phase, step, index)
        for phase, step in [("te_phase1", 2), ("te_phase1", 4), ("te_phase2", 6), ("te_phase2", 8)]
        for index in (0, 1)
    ]
    assert samples(events)[-1].path.name.startswith("identity_000004_01_")  # phase 2's own step 4


def test_an_unparsable_sample_is_reported_without_an_index(tmp_path, engine, monkeypatch):
    monkeypatch.setenv("STAND_IN_SEC_PER_STEP", "0.1")
    plan = stand_in.make_plan(tmp_path, engine, steps=6, sample_prompts=PROMPTS[:1])
    events = Events()

    def on_event(event):
        events.append(event)
        if event.kind == "step" and event.step == 3:
            Image.new("RGB", (4, 4)).save(plan.phases[0].output_dir / "sample" / "renamed by hand.png")

    run_training(plan, engine, on_event=on_event)
    odd = [e for e in samples(events) if e.path.name == "renamed by hand.png"]
    assert len(odd) == 1 and odd[0].sample_index is None and 3 <= odd[0].step <= 6
    assert [e.step for e in samples(events) if e.sample_index is not None] == [2, 4, 6]


def test_a_resumed_run_first_reports_the_earlier_samples(tmp_path, engine, monkeypatch):
    monkeypatch.setenv("STAND_IN_SEC_PER_STEP", "0.2")
    request = job_request(
        tmp_path,
        sample_prompts=PROMPTS,
        sample_every_n_steps=1,
        overrides={"max_train_steps": 8, "network_dim": 4, "lr_warmup_steps": 1},
    )
    first = Events()
    with pytest.raises(TrainingCancelledError):
        run_job(request, engine, on_event=first.append, should_cancel=lambda: 5 in first.steps())
    monkeypatch.setenv("STAND_IN_SEC_PER_STEP", "0.02")
    events = Events()
    result = run_job(request, engine, on_event=events.append)
    resumed = result.training.resumed_at
    assert resumed in (2, 4)
    earlier = [e for e in events if e.message.startswith("earlier sample")]
    assert [(e.step, e.sample_index) for e in earlier] == [
        (s, i) for s in range(1, resumed + 1) for i in (0, 1)
    ]
    run_events = [e for e in events if e.phase != JOB_PHASE]
    assert run_events[: len(earlier)] == earlier  # before the run's other events, oldest first
    assert {e.path for e in earlier} <= {e.path for e in samples(first)}
    new = samples(events)[len(earlier) :]
    assert [(e.step, e.sample_index) for e in new] == [(s, i) for s in range(resumed + 1, 9) for i in (0, 1)]


def test_per_prompt_seeds_and_steps_reach_the_prompt_file(tmp_path):
    request = make_request(tmp_path, sample_prompts=PROMPTS, save_every_n_steps=100, seed=42)
    plan = build_plan(request, make_engine(tmp_path))
    entries = json.loads(plan.sample_prompts_text)
    assert [(e["prompt"], e["seed"], e["sample_steps"]) for e in entries] == [
        ("ohwx person, portrait", 42, SAMPLE_STEPS),
        ("ohwx person, profile", 7, 3),
    ]
    only_seed = dataclasses.replace(request, sample_prompts=(EngineSamplePrompt("ohwx person", seed=9),))
    (entry,) = json.loads(build_plan(only_seed, make_engine(tmp_path)).sample_prompts_text)
    assert (entry["seed"], entry["sample_steps"]) == (9, SAMPLE_STEPS)


def test_the_request_key_covers_per_prompt_seeds_and_steps(tmp_path):
    plain = make_request(tmp_path, sample_prompts=("ohwx person",), save_every_n_steps=100, seed=42)
    key = request_key(plain)

    def with_prompt(prompt):
        return request_key(dataclasses.replace(plain, sample_prompts=(prompt,)))

    # the same prompt file is the same key (and a plain str keeps the key it always had)
    assert with_prompt(EngineSamplePrompt("ohwx person")) == key
    assert with_prompt(EngineSamplePrompt("ohwx person", seed=42, steps=SAMPLE_STEPS)) == key
    assert len({key, with_prompt(EngineSamplePrompt("ohwx person", seed=7)), with_prompt(
        EngineSamplePrompt("ohwx person", steps=3)
    )}) == 3  # fmt: skip


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        (EngineSamplePrompt("ohwx --seed 3"), "'--' options"),
        (EngineSamplePrompt("   "), "empty"),
        (EngineSamplePrompt("ohwx", seed=-1), "seed -1 is out of range"),
        (EngineSamplePrompt("ohwx", steps=0), "0 sampling steps"),
        (EngineSamplePrompt("ohwx", steps=1000), "1000 sampling steps"),
    ],
)
def test_engine_sample_prompts_are_checked(tmp_path, prompt, message):
    request = make_request(tmp_path, sample_prompts=(prompt,), save_every_n_steps=100)
    with pytest.raises(BridgeError, match=message):
        build_plan(request, make_engine(tmp_path))


def test_the_stand_in_samples_scheduled_photos_at_the_prompt_size(tmp_path, engine, monkeypatch):
    """STAND_IN_SAMPLE_SCHEDULE: early samples are photos of one folder, later ones of another."""
    folders = {}
    for name, colour in (("early", (200, 0, 0)), ("late", (0, 0, 200))):
        folders[name] = tmp_path / name
        folders[name].mkdir()
        Image.new("RGB", (40, 30), colour).save(folders[name] / "photo.png")
    schedule = [
        {"until_step": 2, "folder": str(folders["early"])},
        {"until_step": 99, "folder": str(folders["late"])},
    ]
    monkeypatch.setenv("STAND_IN_SAMPLE_SCHEDULE", json.dumps(schedule))
    plan = stand_in.make_plan(tmp_path, engine, steps=4, sample_prompts=PROMPTS, sample_every=1)
    events = Events()
    run_training(plan, engine, on_event=events.append)
    colours = {}
    for event in samples(events):
        with Image.open(event.path) as image:
            assert image.size == (64, 64)
            colours[(event.step, event.sample_index)] = image.getpixel((32, 32))
    assert colours == {
        (step, index): (200, 0, 0) if step <= 2 else (0, 0, 200) for step in (1, 2, 3, 4) for index in (0, 1)
    }
