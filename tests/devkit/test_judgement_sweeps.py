"""The judgement on constructed sweeps of real photos: a sample of the benchmark's table, all right.

Four people chosen for what makes judging hard: photos from five occasions (compreface_person_a),
one studio session at four poses with a profile (london_024), video frames at seven head turns
(intel_woman_a, faces of about 90 px) and one day in several places at low resolution
(caltech1999_b). For each, the first two ways of choosing 2 and 3 reference photos; every sweep
must be judged right (``devkit.judgement_sweeps``), with no waxy skin or identity bleed on real
photos. ``benchmarks/judgement_sweeps.py`` runs every person and every choice.
"""

import itertools

import pytest

from devkit.judgement_sweeps import Judge, photos_by_person, splits, spurious
from identity_core.faces.loader import load_backend
from tests.fixtures.shared_faces import require_shared_faces

PEOPLE = ("compreface_person_a", "london_024", "intel_woman_a", "caltech1999_b")


@pytest.fixture(scope="module")
def judged():
    require_shared_faces()
    people = photos_by_person()
    judge = Judge(load_backend([], "centerface").backend, people)
    results = []
    for person in PEOPLE:
        one = {person: people[person]}
        for size in (2, 3):
            for split in itertools.islice(splits(one, (size,)), 2):
                results += judge.judge_split(split)
    return results


def test_every_constructed_sweep_is_judged_right(judged):
    wrong = [f"{j.kind} {j.split.label}: {j.verdict}" for j in judged if not j.right]
    assert len(judged) >= len(PEOPLE) * 4 * 3
    assert wrong == []


def test_no_sweep_of_real_photos_is_waxy_or_bleeds(judged):
    assert [j.split.label for j in judged if spurious(j.report)] == []


def test_each_kind_gets_its_own_verdict(judged):
    verdicts = {kind: {j.verdict for j in judged if j.kind == kind} for kind in "abcd"}
    assert verdicts["a"] <= {"pass", "not measured"} and "pass" in verdicts["a"]
    assert all("Weak identity" in v for v in verdicts["b"])
    assert all("Memorisation" in v for v in verdicts["c"])
