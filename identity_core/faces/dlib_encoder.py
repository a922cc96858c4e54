"""dlib's 128-d face embedding (public-domain weights in ``face_recognition_models``).

:class:`DlibEncoder` embeds a face given by five keypoints in insightface's order (any
detector's): it warps the face onto dlib's own 150x150 chip layout and runs dlib's ResNet on
the chip, so the embedding does not depend on dlib's HOG detector or its 5-point predictor. The
network runs in PyTorch when it is installed (``dlib_resnet.py``: the same weights and output,
about five times faster than dlib-bin's build without BLAS), else in dlib.
"""

from __future__ import annotations

import contextlib
import importlib.util
import queue
import struct
import subprocess
import sys
import threading
import weakref
from pathlib import Path

import numpy as np

from .alignment import umeyama_similarity
from .dlib_embedding_worker import DESCRIPTOR_SIZE, READY
from .model import FaceBackendError, l2_normalise

EMBEDDING_FILE = "dlib_face_recognition_resnet_model_v1.dat"
CHIP_SIZE = 150

# Where the five keypoints (eye centres, nose, mouth corners, as CenterFace places them) fall on
# the chip dlib itself cuts (``get_face_chip(image, shape_5, 150, 0.25)``): the median over 46 faces
# found by dlib's HOG detector on registry photos and the project's real photo set, made
# left-right symmetric. Embeddings of our chips against dlib's own chips of the same faces: cosine
# 0.95-0.997 (median 0.99); ``benchmarks/face_calibration.py`` re-measures both.
DLIB_CHIP_TEMPLATE = np.array(
    [[47.85, 48.6], [102.15, 48.6], [75.0, 76.8], [52.3, 103.4], [97.7, 103.4]], dtype=np.float32
)


def dlib_model_dir() -> Path:
    """The ``models/`` folder of face_recognition_models, found without importing it.

    (Importing the package needs ``pkg_resources``, which setuptools >= 81 no longer ships.)
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        raise FaceBackendError(
            "The dlib face models are not installed (Python package 'face_recognition_models')",
            "install the pack's requirements into ComfyUI's Python: "
            "pip install face_recognition_models dlib-bin",
        )
    return Path(spec.origin).parent / "models"


def import_dlib():
    try:
        import dlib
    except ImportError as exc:
        raise FaceBackendError(
            "dlib is not installed in ComfyUI's Python", "install it with: pip install dlib-bin"
        ) from exc
    return dlib


def dlib_model_file(filename: str) -> Path:
    path = dlib_model_dir() / filename
    if not path.is_file():
        raise FaceBackendError(
            "A dlib model file is missing",
            "reinstall the models: pip install --force-reinstall face_recognition_models",
            path=path,
        )
    return path


def dlib_chip(image_rgb: np.ndarray, kps: np.ndarray) -> np.ndarray:
    """The 150x150 face chip dlib's ResNet expects, aligned on five keypoints."""
    import cv2

    matrix = umeyama_similarity(np.asarray(kps, np.float64), DLIB_CHIP_TEMPLATE)
    return cv2.warpAffine(
        np.ascontiguousarray(image_rgb), matrix, (CHIP_SIZE, CHIP_SIZE), flags=cv2.INTER_LINEAR
    )


class _InProcessNet:
    """dlib's network in this process. It keeps its activations inside the model object and holds
    Python's global lock while it runs, so one call at a time (about 100 ms per face on one AVX2 core)."""

    def __init__(self, model_path: Path) -> None:
        self._net = import_dlib().face_recognition_model_v1(str(model_path))

    def descriptor(self, chip: np.ndarray) -> np.ndarray:
        return np.array(self._net.compute_face_descriptor(chip), np.float32)

    def close(self) -> None:
        pass


class _HelperProcess:
    """dlib's network in a helper process (``dlib_embedding_worker.py``): while it computes, this
    process's threads keep running, so two helpers use two cores."""

    def __init__(self, model_path: Path) -> None:
        worker = Path(__file__).with_name("dlib_embedding_worker.py")
        self._worker = worker
        self._process = subprocess.Popen(
            [sys.executable, str(worker), str(model_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._finalizer = weakref.finalize(self, _stop, self._process)

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Block until the worker has loaded its model (helpers start side by side, then wait)."""
        if _read_with_timeout(self._process.stdout, 1, timeout_s) != READY:
            self.close()
            raise FaceBackendError(
                "The dlib embedding helper process did not start",
                "check that dlib-bin and face_recognition_models are installed in ComfyUI's Python",
                path=self._worker,
            )

    def descriptor(self, chip: np.ndarray) -> np.ndarray:
        process = self._process
        process.stdin.write(struct.pack("<I", 1) + np.ascontiguousarray(chip, np.uint8).tobytes())
        process.stdin.flush()
        data = process.stdout.read(DESCRIPTOR_SIZE * 4)
        if len(data) < DESCRIPTOR_SIZE * 4:
            raise FaceBackendError(
                f"The dlib embedding helper process stopped (exit code {process.poll()})",
                "run the node again; if it repeats, choose the 'dlib' face backend",
            )
        return np.frombuffer(data, np.float32).copy()

    def close(self) -> None:
        self._finalizer()


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with contextlib.suppress(OSError):
            process.stdin.close()  # the worker exits at the end of its input
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
    with contextlib.suppress(OSError):
        process.stdout.close()


def _read_with_timeout(stream, size: int, timeout_s: float) -> bytes:
    """``stream.read(size)`` that gives up after ``timeout_s`` (a worker that never starts)."""
    result: list[bytes] = []
    reader = threading.Thread(target=lambda: result.append(stream.read(size)), daemon=True)
    reader.start()
    reader.join(timeout_s)
    return result[0] if result else b""


class _TorchNet:
    """dlib's network run by PyTorch (``dlib_resnet.py``): the same descriptors in about a fifth of
    the time, and PyTorch releases Python's lock, so threads share one copy on all cores."""

    def __init__(self, model_path: Path) -> None:
        from .dlib_resnet import DlibResNet

        self._net = DlibResNet.from_file(model_path)

    def descriptor(self, chip: np.ndarray) -> np.ndarray:
        return self._net.descriptors(chip[None])[0]

    def close(self) -> None:
        pass


class DlibEncoder:
    """dlib ResNet 128-d on a chip aligned from five keypoints; L2-normalised output.

    ``runtime``: "auto" runs the network with PyTorch when it is installed (it always is in
    ComfyUI), else with dlib; "dlib" always with dlib. ``helper_processes`` (dlib runtime only):
    that many helper processes run dlib's network, so that threads measuring images in parallel
    (DatasetCheck) embed on several cores; 0 runs it in this process. When the helpers cannot
    start, the encoder falls back to this process, and ``note`` says so. ``runtime_name`` says
    which runtime embeds.
    """

    def __init__(self, helper_processes: int = 0, runtime: str = "auto") -> None:
        model_path = dlib_model_file(EMBEDDING_FILE)
        self._shared, self.note = _torch_net(model_path) if runtime == "auto" else (None, "")
        self.runtime_name = "PyTorch" if self._shared is not None else "dlib"
        self._all: tuple = ()
        self._nets: queue.Queue = queue.Queue()
        if self._shared is None:
            self._all = self._dlib_nets(model_path, helper_processes)
            for net in self._all:
                self._nets.put(net)

    def _dlib_nets(self, model_path: Path, helper_processes: int) -> tuple:
        nets: list = []
        try:
            nets = [_HelperProcess(model_path) for _ in range(helper_processes)]
            for net in nets:
                net.wait_ready()
        except (FaceBackendError, OSError) as error:
            for net in nets:
                net.close()
            nets = []
            self.note = f"dlib embeddings run in one process ({error})"
        return tuple(nets or [_InProcessNet(model_path)])

    def embed(self, image_rgb: np.ndarray, kps: np.ndarray) -> np.ndarray:
        chip = dlib_chip(image_rgb, kps)
        if self._shared is not None:
            return l2_normalise(self._shared.descriptor(chip))
        net = self._nets.get()
        try:
            return l2_normalise(net.descriptor(chip))
        finally:
            self._nets.put(net)

    def close(self) -> None:
        for net in self._all:
            net.close()


def _torch_net(model_path: Path) -> tuple[_TorchNet | None, str]:
    """dlib's network in PyTorch, or None and why not (dlib's own runtime then: slower, the same
    descriptors). Without PyTorch installed there is nothing to say."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return None, ""
    try:
        return _TorchNet(model_path), ""
    except FaceBackendError as error:
        return None, f"dlib embeddings run in dlib, not PyTorch ({error})"
