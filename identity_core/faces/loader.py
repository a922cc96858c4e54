"""Choose the face backend: the user's insightface pack when present, otherwise the offline
default (CenterFace + dlib 128-d), or dlib's HOG path when asked for."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from .insightface_backend import KNOWN_PACKS, InsightFaceBackend, find_pack
from .model import BackendChoice, FaceBackendError, backend_limits

PREFERENCES = ("auto", "insightface", "centerface", "dlib")

_DLIB_NOTE = (
    "dlib's 128-d embeddings (public-domain weights) measured the identity; their similarity "
    "scale is not ArcFace's."
)


def load_backend(
    insightface_roots: Sequence[str | Path], preference: str = "auto", pack: str = "auto"
) -> BackendChoice:
    """Load a face backend and say which one and why.

    ``preference``: "auto" (insightface when a pack with ``*.onnx`` exists, else CenterFace +
    dlib 128-d, else dlib HOG when CenterFace's package is missing), "insightface" (error when no
    pack is found), "centerface" or "dlib" (HOG detector, front-facing faces only). ``pack``: "auto" tries
    antelopev2 then buffalo_l, or a pack folder name. insightface is never given a folder
    that does not exist, so it never tries to download.
    """
    choice = _choose(insightface_roots, preference, pack)
    limits = backend_limits(choice.backend).sentence()
    return BackendChoice(choice.backend, f"{choice.message} {limits}")


def _choose(insightface_roots: Sequence[str | Path], preference: str, pack: str) -> BackendChoice:
    if preference not in PREFERENCES:
        choices = ", ".join(PREFERENCES)
        raise FaceBackendError(f"Unknown face backend {preference!r}", f"choose one of {choices}", "backend")
    if preference == "dlib":
        return BackendChoice(_dlib(), f"Face backend: dlib HOG (chosen). {_DLIB_NOTE}")
    if preference == "centerface":
        return BackendChoice(_centerface(), f"Face backend: CenterFace (chosen). {_DLIB_NOTE}")
    search = find_pack(insightface_roots, pack)
    if search.pack_dir is not None:
        backend = InsightFaceBackend(search.pack_dir)
        return BackendChoice(backend, f"Face backend: {backend.name} from {search.pack_dir}.")
    what, fix = _missing_pack(search.searched, pack, search.hint)
    if preference == "insightface":
        raise FaceBackendError(what, fix, "insightface_pack")
    return _offline_default(f"{what}. {fix}.")


KEPT_BACKENDS = 2  # loaded backends kept between node runs; the oldest beyond this is closed
_LOADED: OrderedDict[tuple, BackendChoice] = OrderedDict()


def load_backend_once(
    insightface_roots: Sequence[str | Path], preference: str = "auto", pack: str = "auto"
) -> BackendChoice:
    """:func:`load_backend`, kept for the next call with the same arguments and the same pack found
    (nodes run many times; the offline default reads its embedding network, an insightface pack takes
    seconds to load). A pack added later is picked up on the next call. At most
    ``KEPT_BACKENDS`` stay loaded: a client choosing other backends or packs in turn cannot make
    the server hold one of each."""
    found = find_pack(insightface_roots, pack).pack_dir if preference in ("auto", "insightface") else None
    key = (tuple(str(root) for root in insightface_roots), preference, pack, found)
    if key in _LOADED:
        _LOADED.move_to_end(key)
        return _LOADED[key]
    _LOADED[key] = load_backend(insightface_roots, preference, pack)
    while len(_LOADED) > KEPT_BACKENDS:
        _, evicted = _LOADED.popitem(last=False)
        _close(evicted.backend)
    return _LOADED[key]


def _close(backend: object) -> None:
    if any(backend is kept for kept in _OFFLINE.values()):
        return  # built once per process and shared by every choice that uses it
    close = getattr(backend, "close", None)
    if callable(close):
        close()


def _offline_default(why: str) -> BackendChoice:
    """CenterFace + dlib 128-d; dlib HOG (front-facing faces only) when CenterFace is missing."""
    try:
        return BackendChoice(_centerface(), f"{why} Using CenterFace + dlib 128-d. {_DLIB_NOTE}")
    except FaceBackendError as error:
        return BackendChoice(
            _dlib(),
            f"{why} CenterFace is unavailable ({error}); falling back to dlib HOG, which sees "
            f"front-facing faces only. {_DLIB_NOTE}",
        )


# The offline backends, built at most once per process: loading one holds Python's lock for seconds
# (dlib deserialises its models in C++), so a client choosing backends in turn must not make the
# server load them again and again. Together they hold about 150 MB.
_OFFLINE: dict[str, object] = {}
_OFFLINE_LOCK = threading.Lock()


def _centerface():
    from .centerface_backend import CenterFaceBackend

    return _offline("centerface", CenterFaceBackend)


def _dlib():
    from .dlib_backend import DlibBackend

    return _offline("dlib", DlibBackend)


def _offline(kind: str, build):
    with _OFFLINE_LOCK:
        if kind not in _OFFLINE:
            _OFFLINE[kind] = build()
        return _OFFLINE[kind]


def _missing_pack(searched: Sequence[Path], pack: str, hint: str) -> tuple[str, str]:
    """What is missing and the fix, for the error or the fallback note."""
    wanted = " or ".join(KNOWN_PACKS) if pack in ("", "auto") else pack
    folders = ", ".join(str(p) for p in searched) or "(no insightface model folder is configured)"
    what = f"No insightface model pack found: looked for {wanted} .onnx files in {folders}"
    fix = hint.rstrip(".") if hint else "put the pack's .onnx files directly in one of those folders"
    return what, fix
