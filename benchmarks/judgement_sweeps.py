"""The judgement on constructed sweeps of real photos: the confusion table and each rule's false alarms.

For every person of the shared real photo set with at least 4 photos and every choice of 2-3 of
them as the reference, ``devkit.judgement_sweeps`` builds four sweeps whose "generated" images
are real photos, each with a right answer (a: the person's other photos pass; b: the closest
strangers read weak identity, not memorisation; c: the reference photos themselves read
memorisation; d: other photos with the closest strangers on the control prompt pass without
bleed), judged by ``evaluate_sweep`` exactly as ArcFaceScore runs it, with the offline default
backend (CenterFace + dlib 128-d). It prints:

- the confusion table (split x verdict) and every wrong judgement;
- (e) the spurious diagnoses (waxy skin, identity bleed) over all sweeps;
- each rule's false-alarm rate: copies called on other photos of the person, waxy notes or
  diagnoses on real photos, resemblance notes and bleed on strangers' control faces.

Run: python benchmarks/judgement_sweeps.py [--sizes 2 3] [--person london_003]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devkit.judgement_sweeps import (
    SPLIT_TITLES,
    Judge,
    Judged,
    photos_by_person,
    splits,
    spurious,
)
from devkit.real_faces import shared_faces_dir
from identity_core.faces.loader import load_backend


def judge_all(judge: Judge, people: dict, sizes: tuple[int, ...], only: str | None) -> list[Judged]:
    judged = []
    for split in splits(people, sizes):
        if only and split.person != only:
            continue
        judged += judge.judge_split(split)
    return judged


def confusion(judged: list[Judged]) -> list[str]:
    lines = ["| split | sweeps | right | verdicts |", "| --- | ---: | ---: | --- |"]
    for kind, title in SPLIT_TITLES.items():
        group = [j for j in judged if j.kind == kind]
        verdicts = Counter(j.verdict for j in group)
        listed = ", ".join(f"{verdict} {count}" for verdict, count in verdicts.most_common())
        lines.append(f"| {kind}: {title} | {len(group)} | {sum(j.right for j in group)} | {listed} |")
    return lines


def false_alarms(judged: list[Judged]) -> list[str]:
    """Per rule: how often it fired where the truth says it must not."""
    real_sweeps = judged  # every constructed sweep is made of real photos
    near_copy_on_others = [j for j in judged if j.kind in "ad" and _copy_cells(j)]
    waxy_any = [j for j in real_sweeps if "Waxy skin" in j.diagnoses]
    smoother_notes = [j for j in real_sweeps if any("smoother than the smoothest" in n for n in j.notes)]
    bleed = [j for j in real_sweeps if "Identity bleed" in j.diagnoses]
    resembles = [j for j in real_sweeps if any("resemble the subject" in n for n in j.notes)]
    faces = [c for j in real_sweeps for c in j.report.cells if c.is_control]
    control_faces = sum(len([s for s in c.similarities if s is not None]) for c in faces)
    t = judged[0].report.thresholds
    above_bleed = sum(1 for c in faces for s in c.similarities if s is not None and s >= t.bleed)
    above_resembles = sum(1 for c in faces for s in c.similarities if s is not None and s >= t.resembles)
    total = len(real_sweeps)
    return [
        f"- copy (memorisation) on sweeps of the person's other photos (a, d): {len(near_copy_on_others)} of "
        f"{sum(1 for j in judged if j.kind in 'ad')}",
        f"- waxy skin diagnosis on real photos: {len(waxy_any)} of {total} sweeps; smoothness note: "
        f"{len(smoother_notes)} of {total}",
        f"- identity bleed with strangers on the control prompt: {len(bleed)} of {total} sweeps; "
        f"resemblance note: {len(resembles)} of {total}",
        f"- strangers' control faces at or above the bleed landmark {t.bleed:.3f}: {above_bleed} of "
        f"{control_faces}; at or above 'resembles' {t.resembles:.3f}: {above_resembles} of {control_faces}",
    ]


def _copy_cells(judged: Judged) -> bool:
    return any(c.memorised for c in judged.report.cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 3], help="reference photos per split")
    parser.add_argument("--person", help="only this person (a folder name of the photo set)")
    args = parser.parse_args()
    if shared_faces_dir() is None:
        sys.exit("no real face photo set here: set IDENTITY_LORA_FACES to its folder")
    started = time.perf_counter()
    backend = load_backend([], "centerface").backend
    people = photos_by_person()
    judged = judge_all(Judge(backend, people), people, tuple(args.sizes), args.person)
    print(f"{len(judged)} constructed sweeps, {backend.name}, {time.perf_counter() - started:.0f} s\n")
    print("\n".join(confusion(judged)))
    print("\n(e) spurious diagnoses on sweeps of real photos:", sum(bool(spurious(j.report)) for j in judged))
    print("\nFalse alarms of each rule:")
    print("\n".join(false_alarms(judged)))
    wrong = [j for j in judged if not j.right]
    if wrong:
        print(f"\nWrong judgements ({len(wrong)}):")
        for j in wrong:
            print(f"  {j.kind} {j.split.label}: {j.verdict} | {j.report.recommendation.summary[:160]}")


if __name__ == "__main__":
    main()
