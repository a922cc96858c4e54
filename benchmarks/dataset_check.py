"""DatasetCheck on 30 images of 1024 px on CPU, model load excluded (target: under 5 s).

Backend: dlib (HOG detector run at long side 800 without upsampling, retried once with
upsampling when nothing is found; 68- and 5-point landmarks; 128-d embedding on the full
image). Images: 30 derived photos of matplotlib's grace_hopper.jpg on varied backgrounds
(JPEG q92), written to a temporary folder. Run: python benchmarks/dataset_check.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devkit.photos import grace_hopper, subject_variants, write_image
from identity_core.dataset.check import check_dataset
from identity_core.faces.dlib_backend import DlibBackend

IMAGES = 30
SIDE = 1024
REPEATS = 3


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        for index, image in enumerate(subject_variants(grace_hopper(), IMAGES, canvas=SIDE)):
            write_image(image, Path(folder) / f"img{index:02d}.jpg", quality=92)
        started = time.perf_counter()
        backend = DlibBackend()
        load_s = time.perf_counter() - started
        check_dataset(folder, backend)  # warm-up: imports (cv2, imagehash, scipy) and caches
        timings = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            result = check_dataset(folder, backend)
            timings.append(time.perf_counter() - started)
    best, median = min(timings), statistics.median(timings)
    print(f"DatasetCheck, {IMAGES} images of {SIDE}x{SIDE} px, backend {result.backend_name}")
    print(f"  model load {load_s:.2f} s (excluded)")
    per_image_ms = best / IMAGES * 1000
    print(f"  check: best {best:.2f} s, median {median:.2f} s of {REPEATS} ({per_image_ms:.0f} ms/image)")
    print(f"  load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"  target < 5 s: {'met' if best < 5 else 'NOT met'}; verdict {result.verdict}")


if __name__ == "__main__":
    main()
