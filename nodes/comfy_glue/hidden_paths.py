"""Server paths replaced by labels (``input``, ``models/loras``, ``<private>``...) in the error
messages and ``ui`` texts of a node: ComfyUI stores both in /history, which every client reads; the
server's log keeps the paths."""

from __future__ import annotations

import contextlib
import os

from .server_folders import PACK_DIR, comfyui_dir, served_folders, server_settings, work_folder


def private_path_labels():
    """Every place of this server a message may name, with the label clients see instead."""
    import folder_paths

    from ...identity_core.access import PRIVATE_LABEL, PathLabels

    places: list[tuple[str, str]] = []
    with contextlib.suppress(Exception):  # a misconfigured work folder: its own error says so
        places.append((str(work_folder()), PRIVATE_LABEL))
    for name, folder in zip(("input", "output", "temp", "user"), served_folders(), strict=True):
        places.append((folder, name))
    places.append((folder_paths.models_dir, "models"))
    for kind, (folders, _extensions) in list(folder_paths.folder_names_and_paths.items()):
        places += [(folder, f"models/{kind}") for folder in folders if kind != "custom_nodes"]
    settings = server_settings()
    places += [(root, "<allowed root>") for root in (*settings.extra_roots, *settings.writable_roots)]
    engine = os.environ.get("IDENTITY_LORA_ENGINE", "").strip()
    places += [(engine, "<engine>")] if engine else []
    places += [(PACK_DIR, "<pack>"), (comfyui_dir(), "<ComfyUI>"), (folder_paths.base_path, "<ComfyUI base>")]
    places.append((os.path.expanduser("~"), "~"))
    return PathLabels(places)


def hiding_private_paths(function):
    """A node's FUNCTION whose error messages and ``ui`` texts name places, not server paths."""
    import functools

    @functools.wraps(function)
    def run(*args, **kwargs):
        from ...identity_core.access import hide_in_error

        try:
            result = function(*args, **kwargs)
        except Exception as error:
            labels = _labels()
            if labels is not None:
                hide_in_error(error, labels)
            raise
        return _hidden_ui(result)

    return run


def _labels():
    """The path labels, or None when ComfyUI's folders cannot be read (the original error wins)."""
    try:
        return private_path_labels()
    except Exception:  # a broken folder setup must not replace the node's own error
        return None


def _hidden_ui(result):
    if not isinstance(result, dict) or not isinstance(result.get("ui"), dict):
        return result
    texts = result["ui"].get("text")
    labels = _labels() if isinstance(texts, list) else None
    if labels is not None:
        result["ui"]["text"] = [labels.hide(text) if isinstance(text, str) else text for text in texts]
    return result
