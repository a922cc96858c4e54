"""ArcFaceScore throughput on CPU (target: 20 faces per second): the offline default backend
(CenterFace + dlib 128-d, its network run by PyTorch, and the same backend with the network run by
dlib, side by side), dlib's HOG backend, and an ArcFace-shaped ONNX model of ResNet-50 size run
through insightface's own recognition code; each sweep image holds one face.

The ONNX model is an IResNet-50 (the architecture of insightface's w600k_r50: 3x3 stem at stride
1, [3, 4, 14, 3] improved basic blocks, 512-d head) with random weights, exported here with
torch: random weights cost the same compute as trained ones, and the real pack is
non-commercial, so it is not used. Faces are located by dlib in that run too (the stand-in
detector of the tests never fires), so the insightface figures are "dlib location + ArcFace
embedding"; a real SCRFD detector would replace the location cost.

usage: python benchmarks/arcface_throughput.py [--images 12]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devkit.photos import brightened, flipped, grace_hopper, on_canvas, resized, rotated
from devkit.stand_in_onnx import stand_in_scrfd
from identity_core.evaluation import Sweep, SweepEntry, Thresholds, build_reference, evaluate_sweep
from identity_core.evaluation.pipeline import measure_sweep
from identity_core.faces import Face


def iresnet50_onnx(path: Path) -> Path:
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.body = nn.Sequential(
                nn.BatchNorm2d(cin),
                nn.Conv2d(cin, cout, 3, 1, 1, bias=False),
                nn.BatchNorm2d(cout),
                nn.PReLU(cout),
                nn.Conv2d(cout, cout, 3, stride, 1, bias=False),
                nn.BatchNorm2d(cout),
            )
            self.down = (
                None
                if stride == 1 and cin == cout
                else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            )

        def forward(self, x):
            return self.body(x) + (x if self.down is None else self.down(x))

    layers, cin = [nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.PReLU(64)], 64
    for cout, blocks in ((64, 3), (128, 4), (256, 14), (512, 3)):
        for index in range(blocks):
            layers.append(Block(cin, cout, 2 if index == 0 else 1))
            cin = cout
    layers += [nn.BatchNorm2d(512), nn.Flatten(), nn.Linear(512 * 7 * 7, 512), nn.BatchNorm1d(512)]
    model = nn.Sequential(*layers).eval()
    params = sum(p.numel() for p in model.parameters())
    torch.onnx.export(
        model,
        torch.zeros(1, 3, 112, 112),
        str(path),
        input_names=["input.1"],
        output_names=["embedding"],
        dynamic_axes={"input.1": {0: "n"}, "embedding": {0: "n"}},
        opset_version=17,
        dynamo=False,
    )
    print(f"IResNet-50 stand-in: {params / 1e6:.1f} M parameters, {path.stat().st_size / 1e6:.0f} MB ONNX")
    return path


class DlibLocatedInsightFace:
    def __init__(self, locator, insightface_backend):
        self._locator, self._insightface = locator, insightface_backend
        self.name = insightface_backend.name + " (faces located by dlib)"
        self.same_person_cosine = insightface_backend.same_person_cosine
        self.scale = insightface_backend.scale

    def analyze(self, image_rgb):
        return [
            Face(f.bbox, f.score, f.kps, f.yaw, f.pitch, f.roll, self._insightface.embed(image_rgb, f.kps))
            for f in self._locator.analyze(image_rgb)
        ]


def sweep_of(count: int) -> Sweep:
    grace = grace_hopper()
    variants = [rotated(resized(grace, 0.7 + 0.05 * (i % 5)), -10 + 4 * (i % 6)) for i in range(count)]
    return Sweep([SweepEntry(img, "portrait", "", 1.0, i, "run", False) for i, img in enumerate(variants)])


def bench(label: str, backend, images: int) -> None:
    """The evaluation's scoring of a sweep: measuring on one thread and on two, side by side, then
    the whole evaluation (measuring on the default threads, cells, signals, recommendation)."""
    grace = grace_hopper()
    photos = [("a", grace), ("b", flipped(grace)), ("c", brightened(grace, 1.2))]
    start = time.perf_counter()
    reference = build_reference(photos, backend)
    ref_s = time.perf_counter() - start
    sweep = sweep_of(images)
    h, w = sweep.entries[0].image.shape[:2]
    print(f"{label}: reference {len(photos)} photos {ref_s:.2f} s; sweep of {images} images (~{w}x{h})")
    for workers in (1, 2):
        start = time.perf_counter()
        measure_sweep(sweep, reference, backend, workers=workers)
        took = time.perf_counter() - start
        print(f"  measured on {workers} thread(s): {per_face(took, images)}")
    start = time.perf_counter()
    evaluate_sweep(sweep, reference, backend, Thresholds.from_scale(backend.scale))
    eval_s = time.perf_counter() - start
    print(f"  whole evaluation: {eval_s:.2f} s = {per_face(eval_s, images)}")


def per_face(seconds: float, images: int) -> str:
    return f"{seconds / images * 1000:.0f} ms/face, {images / seconds:.1f} faces/s"


def cpu_seconds() -> float:
    """CPU time of this process and its children (the embedding helpers), which other jobs on the
    machine hardly change."""
    import psutil

    me = psutil.Process()
    own = me.cpu_times()
    return own.user + own.system + sum(sum(child.cpu_times()[:2]) for child in me.children())


def analysis_only(label: str, backend, images: int) -> None:
    """Face analysis alone (detection + embedding) of 1024 px sweep-sized images, one thread against
    two (``identity_core.concurrency.ordered_map``): what scoring images in parallel could reach."""
    from identity_core.concurrency import ordered_map

    pictures = [on_canvas(entry.image, (1024, 1024)) for entry in sweep_of(images).entries]
    for workers in (1, 2):
        list(ordered_map(backend.analyze, pictures[:2], workers))  # warm-up
        start, start_cpu = time.perf_counter(), cpu_seconds()
        list(ordered_map(backend.analyze, pictures, workers))
        took, cpu = time.perf_counter() - start, cpu_seconds() - start_cpu
        wall = f"{took / images * 1000:.0f} ms/face, {images / took:.1f} faces/s"
        print(
            f"{label}, analysis alone of 1024 px images on {workers} thread(s): {wall}; "
            f"CPU {cpu / images * 1000:.0f} ms/face (all processes)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=12)
    args = parser.parse_args()
    from identity_core.faces.centerface_backend import CenterFaceBackend
    from identity_core.faces.dlib_backend import DlibBackend
    from identity_core.faces.insightface_backend import InsightFaceBackend

    for label, make in (
        ("CenterFace + dlib 128-d in PyTorch (offline default)", CenterFaceBackend),
        ("CenterFace + dlib 128-d in dlib (before)", lambda: CenterFaceBackend(embedding_runtime="dlib")),
        ("dlib HOG", DlibBackend),
    ):
        started = time.perf_counter()
        backend = make()
        print(f"{label}: model load {time.perf_counter() - started:.2f} s (apart)")
        bench(label, backend, args.images)
    analysis_only("CenterFace + dlib 128-d in PyTorch", CenterFaceBackend(), args.images)
    analysis_only("CenterFace + dlib 128-d in dlib", CenterFaceBackend(embedding_runtime="dlib"), args.images)
    dlib_backend = DlibBackend()
    with tempfile.TemporaryDirectory() as folder:
        pack = Path(folder) / "r50_stand_in"
        pack.mkdir()
        stand_in_scrfd(pack / "det_stand_in.onnx")
        iresnet50_onnx(pack / "w600k_r50_shaped_random.onnx")
        insight = InsightFaceBackend(pack)
        aligned = np.ascontiguousarray(resized(grace_hopper(), 0.2)[:112, :112])
        recognition = insight._app.models["recognition"]
        recognition.get_feat(aligned)
        start = time.perf_counter()
        for _ in range(20):
            recognition.get_feat(aligned)
        per_face = (time.perf_counter() - start) / 20
        print(f"IResNet-50 ONNX embedding alone (onnxruntime CPU): {per_face * 1000:.0f} ms/face")
        bench("insightface path, IResNet-50", DlibLocatedInsightFace(dlib_backend, insight), args.images)


if __name__ == "__main__":
    main()
