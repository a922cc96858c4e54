"""Primary face backend: an insightface model pack supplied by the user.

Packs live in ``<root>/models/<pack>/*.onnx`` (ComfyUI convention: ``<root>`` is
``models/insightface``). The weights of antelopev2 and buffalo_l are licensed for
non-commercial research; we never download or ship them. insightface downloads a pack
whenever the folder it is given does not exist, so :func:`find_pack` checks the folder
first and :class:`InsightFaceBackend` only ever receives an existing folder with models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .alignment import align_face
from .identity_scale import ARCFACE_SCALE
from .model import Face, FaceBackendError, l2_normalise
from .pose import pose_from_kps

KNOWN_PACKS = ("antelopev2", "buffalo_l")
ALLOWED_MODULES = ["detection", "recognition", "landmark_3d_68"]


@dataclass(frozen=True)
class PackSearch:
    """Where a pack was found (``pack_dir``), or what was searched and how to fix it."""

    pack_dir: Path | None
    searched: tuple[Path, ...]
    hint: str = ""


def pack_folders(roots: Sequence[str | Path], pack: str = "auto") -> list[Path]:
    """The folders a pack name means: a plain folder name under each ``<root>/models``."""
    names = KNOWN_PACKS if pack in ("", "auto") else (pack,)
    for name in names:
        if Path(name).name != name or name in (".", ".."):
            raise FaceBackendError(
                f"The insightface pack name {name!r} is not a folder name",
                "choose a pack from the list (a folder under models/insightface/models)",
                "insightface_pack",
            )
    return [Path(root) / "models" / name for root in roots for name in names]


def installed_packs(roots: Sequence[str | Path]) -> list[str]:
    """Names of the folders under each ``<root>/models`` (the choices of a pack input)."""
    found = []
    for root in roots:
        models = Path(root) / "models"
        if models.is_dir():
            found += [entry.name for entry in sorted(models.iterdir()) if entry.is_dir()]
    return list(dict.fromkeys(found))


def find_pack(roots: Sequence[str | Path], pack: str = "auto") -> PackSearch:
    """The first ``<root>/models/<pack>`` folder that holds ``*.onnx`` files.

    Also recognises the common unzip mistake ``antelopev2/antelopev2/*.onnx`` and says how
    to fix it rather than loading nothing.
    """
    searched = pack_folders(roots, pack)
    hints = []
    for folder in searched:
        if any(folder.glob("*.onnx")):
            return PackSearch(folder, tuple(searched))
        nested = [sub for sub in folder.glob("*") if sub.is_dir() and any(sub.glob("*.onnx"))]
        if nested:
            hints.append(
                f"The model files are one folder too deep in {nested[0]}: move the .onnx files "
                f"from {nested[0]} up into {folder} (the zip was extracted into a nested folder)."
            )
    return PackSearch(None, tuple(searched), " ".join(hints))


def onnx_providers() -> tuple[list[str], int]:
    """CUDA when onnxruntime offers it, otherwise CPU; with the matching insightface ctx_id."""
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"], 0
    return ["CPUExecutionProvider"], -1


class InsightFaceBackend:
    """insightface FaceAnalysis on an existing pack folder (never a pack name: no download)."""

    # Not measured by this project (the packs' weights are non-commercial and not available to
    # its tests): SCRFD is trained on WIDER FACE, which includes profile faces, and 1k3d68 fits
    # a 68-point 3D face for the head pose.
    sees = "faces from the front to full profile (SCRFD detector, insightface's published scope)"
    cannot_see = "faces under about 10 px at its 640 px detection size and the back of the head"
    max_yaw = 90.0
    scale = ARCFACE_SCALE
    same_person_cosine = ARCFACE_SCALE.same_person

    def __init__(self, pack_dir: Path, det_size: int = 640) -> None:
        pack_dir = Path(pack_dir)
        if not any(pack_dir.glob("*.onnx")):
            raise FaceBackendError(
                "The insightface pack folder holds no .onnx model files",
                "put the pack's .onnx files into that folder",
                path=pack_dir,
            )
        try:
            from insightface.app import FaceAnalysis
        except ImportError as exc:
            raise FaceBackendError(
                "insightface is not installed in ComfyUI's Python",
                "pip install insightface onnxruntime",
            ) from exc
        providers, ctx_id = onnx_providers()
        try:
            app = FaceAnalysis(
                name=str(pack_dir.resolve()), providers=providers, allowed_modules=ALLOWED_MODULES
            )
        except AssertionError as exc:
            raise FaceBackendError(
                "The insightface pack has no face detection model",
                "copy the whole pack into that folder: a complete antelopev2 or buffalo_l pack holds a "
                "detector (scrfd_10g_bnkps.onnx or det_10g.onnx) and a recognition model",
                path=pack_dir,
            ) from exc
        if "recognition" not in app.models:
            raise FaceBackendError(
                "The insightface pack has no recognition model (glintr100.onnx or w600k_r50.onnx)",
                "copy the whole pack into that folder",
                path=pack_dir,
            )
        app.prepare(ctx_id=ctx_id, det_size=(det_size, det_size))
        self._app = app
        self.pack_dir = pack_dir
        self.providers = providers
        self.name = f"insightface {pack_dir.name}"

    def analyze(self, image_rgb: np.ndarray) -> list[Face]:
        from insightface.app.common import Face as InsightFace

        image_bgr = np.ascontiguousarray(np.asarray(image_rgb, np.uint8)[..., ::-1])
        boxes, all_kps = self._app.det_model.detect(image_bgr)
        landmark_model = self._app.models.get("landmark_3d_68")
        faces = []
        for index in range(boxes.shape[0]):
            kps = None if all_kps is None else all_kps[index]
            raw = InsightFace(bbox=boxes[index, :4], kps=kps, det_score=boxes[index, 4])
            if landmark_model is not None:
                landmark_model.get(image_bgr, raw)
            faces.append(self._to_face(image_rgb, raw))
        return faces

    def embed(self, image_rgb: np.ndarray, kps: np.ndarray) -> np.ndarray:
        """L2-normalised embedding of the face at ``kps`` (five points, insightface order)."""
        recognition = self._app.models["recognition"]
        aligned_rgb = align_face(np.asarray(image_rgb, np.uint8), kps, recognition.input_size[0])
        return l2_normalise(recognition.get_feat(np.ascontiguousarray(aligned_rgb[..., ::-1]))[0])

    def _to_face(self, image_rgb: np.ndarray, raw) -> Face:
        height, width = image_rgb.shape[:2]
        kps = None if raw.get("kps") is None else np.asarray(raw.kps, np.float32)
        yaw = pitch = roll = None
        if raw.get("pose") is not None:
            # 1k3d68 fits the same mean face shape; pose is (pitch, yaw, roll) with our signs.
            pitch, yaw, roll = (float(v) for v in raw.pose)
        elif kps is not None:
            yaw, pitch, roll = pose_from_kps(kps, width, height)
        return Face(
            bbox=tuple(float(v) for v in raw.bbox[:4]),
            score=float(raw.det_score),
            kps=kps,
            yaw=yaw,
            pitch=pitch,
            roll=roll,
            embedding=None if kps is None else self.embed(image_rgb, kps),
        )
