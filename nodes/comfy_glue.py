"""The few places where the pack touches ComfyUI's own modules.

Everything here imports ComfyUI lazily, inside functions, so the node modules can be
imported (and their INPUT_TYPES read) cheaply at pack load time.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Any

CATEGORY_ROOT = "FLUX Identity LoRA"
INSIGHTFACE_FOLDER = "insightface"

# Custom socket types passed between this pack's nodes.
DATASET_TYPE = "IDENTITY_DATASET"
SWEEP_TYPE = "IDENTITY_SWEEP"
CHECKPOINTS_TYPE = "IDENTITY_CHECKPOINTS"  # identity_core.evaluation.checkpoints.CheckpointSet


def register_model_folders() -> None:
    """Register ``models/insightface`` (the IPAdapter/InstantID/PuLID convention).

    Packs live in ``models/insightface/models/<pack>/*.onnx``. Users may add more roots
    through extra_model_paths.yaml under the ``insightface`` key.
    """
    import folder_paths

    default_root = os.path.join(folder_paths.models_dir, INSIGHTFACE_FOLDER)
    known = folder_paths.folder_names_and_paths.get(INSIGHTFACE_FOLDER)
    if known is None or default_root not in known[0]:
        folder_paths.add_model_folder_path(INSIGHTFACE_FOLDER, default_root, is_default=True)


def insightface_roots() -> list[str]:
    import folder_paths

    return list(folder_paths.get_folder_paths(INSIGHTFACE_FOLDER))


def insightface_pack_choices() -> list[str]:
    """auto, the two known packs, and every pack folder installed (a choice, never a free path)."""
    from ..identity_core.faces.insightface_backend import KNOWN_PACKS, installed_packs

    return list(dict.fromkeys(["auto", *KNOWN_PACKS, *installed_packs(insightface_roots())]))


def output_directory() -> str:
    import folder_paths

    return folder_paths.get_output_directory()


def temp_directory() -> str:
    import folder_paths

    return folder_paths.get_temp_directory()


def progress_bar(total: int) -> Any:
    import comfy.utils

    return comfy.utils.ProgressBar(total)


def raise_if_interrupted() -> None:
    import comfy.model_management

    comfy.model_management.throw_exception_if_processing_interrupted()


def is_interrupted() -> bool:
    import comfy.model_management

    return bool(comfy.model_management.processing_interrupted())


def interrupt_checker() -> Callable[[], bool]:
    """A cheap callable for pure-Python loops that must stop when the user cancels."""
    return is_interrupted


# ----------------------------------------------------------------------------- images (added for
# StrengthSweep / ArcFaceScore): ComfyUI IMAGE tensors are BxHxWx3 float 0..1; identity_core uses
# RGB uint8 HxWx3 numpy arrays.


def images_to_arrays(images: Any) -> list:
    """IMAGE tensor -> list of RGB uint8 arrays (same rounding as ComfyUI's SaveImage).

    One image at a time: a float32 copy of the whole batch would hold four times its 8-bit size.
    """
    import numpy as np

    return [
        np.clip(255.0 * image[..., :3].detach().cpu().float().numpy(), 0, 255).astype(np.uint8)
        for image in images
    ]


def arrays_to_images(arrays: list) -> Any:
    """List of RGB uint8 arrays of one size -> IMAGE tensor (one float32 batch, made once)."""
    import numpy as np
    import torch

    return torch.from_numpy(np.stack([np.asarray(a, np.uint8) for a in arrays])).float().div_(255.0)


def save_preview_png(array: Any, prefix: str) -> dict[str, str]:
    """Save an RGB uint8 array in ComfyUI's temp folder; return the ``ui`` image reference."""
    import uuid

    from PIL import Image

    filename = f"{prefix}_{uuid.uuid4().hex[:10]}.png"
    Image.fromarray(array).save(os.path.join(temp_directory(), filename), compress_level=1)
    return {"filename": filename, "subfolder": "", "type": "temp"}


# ----------------------------------------------------------------------------- sampling (added for
# StrengthSweep): the same calls the core LoraLoader, CLIPTextEncode, FluxGuidance, KSampler and
# VAEDecode nodes make, so a sweep image equals the image of the equivalent core graph.


def lora_names() -> list[str]:
    import folder_paths

    return list(folder_paths.get_filename_list("loras"))


def lora_full_path(name: str) -> str | None:
    """A LoRA from ComfyUI's ``loras`` folders: a name as LoraLoader lists it, or a full path that
    lies inside one of those folders (TrainIdentityLoRA's lora_path); None otherwise.

    A LoRA input is never a free path: on a shared server it would load any file the server can read.
    """
    import folder_paths

    if not os.path.isabs(name):
        return folder_paths.get_full_path("loras", name)
    real = os.path.realpath(name)
    return real if _lora_root_of(real) is not None and os.path.isfile(real) else None


def lies_in_lora_folders(path: str) -> bool:
    """Whether ``path`` (present or not yet) lies inside one of ComfyUI's ``loras`` folders."""
    real = os.path.realpath(path)
    root = _lora_root_of(real)
    return root is not None and real != root


def lora_display_name(path: str) -> str:
    """A LoRA file's name as LoraLoader lists it (relative to its loras folder)."""
    real = os.path.realpath(path)
    root = _lora_root_of(real)
    return os.path.relpath(real, root).replace(os.sep, "/") if root else os.path.basename(path)


def _lora_root_of(real: str) -> str | None:
    """The first of ComfyUI's ``loras`` folders (resolved) that holds the resolved path ``real``."""
    import folder_paths

    for folder in folder_paths.get_folder_paths("loras"):
        root = os.path.realpath(folder)
        if os.path.commonpath([real, root]) == root:
            return root
    return None


def sampler_names() -> list[str]:
    import comfy.samplers

    return list(comfy.samplers.KSampler.SAMPLERS)


def scheduler_names() -> list[str]:
    import comfy.samplers

    return list(comfy.samplers.KSampler.SCHEDULERS)


def load_lora_file(path: str) -> dict:
    import comfy.utils

    return comfy.utils.load_torch_file(path, safe_load=True)


def apply_lora(model: Any, clip: Any, lora: dict, strength: float) -> tuple[Any, Any]:
    """LoraLoader's own function; strength 0 returns the inputs unchanged, as LoraLoader does.

    ``clip`` None applies the LoRA to the diffusion model only (LoraLoaderModelOnly).
    """
    import comfy.sd

    if strength == 0:
        return model, clip
    return comfy.sd.load_lora_for_models(model, clip, lora, strength, strength if clip is not None else 0)


def encode_flux_prompt(clip: Any, text: str, guidance: float) -> tuple[list, list]:
    """CLIPTextEncode + FluxGuidance; the negative is the zeroed positive (ConditioningZeroOut)."""
    import node_helpers
    import torch

    tokens = clip.tokenize(text)
    positive = node_helpers.conditioning_set_values(
        clip.encode_from_tokens_scheduled(tokens), {"guidance": guidance}
    )
    negative = []
    for cond, extras in positive:
        extras = extras.copy()
        if extras.get("pooled_output") is not None:
            extras["pooled_output"] = torch.zeros_like(extras["pooled_output"])
        negative.append([torch.zeros_like(cond), extras])
    return positive, negative


def sample_latent(
    model: Any,
    positive: list,
    negative: list,
    seed: int,
    steps: int,
    cfg: float,
    sampler_name: str,
    scheduler: str,
    width: int,
    height: int,
    on_step: Callable[[int], None] | None = None,
) -> Any:
    """EmptySD3LatentImage + the core KSampler path (common_ksampler), one image."""
    import comfy.model_management
    import comfy.sample
    import torch

    latent = torch.zeros(
        [1, 16, height // 8, width // 8], device=comfy.model_management.intermediate_device()
    )
    latent = comfy.sample.fix_empty_latent_channels(model, latent)
    noise = comfy.sample.prepare_noise(latent, seed, None)

    def callback(step, _x0, _x, _total):
        if on_step is not None:
            on_step(step + 1)

    return comfy.sample.sample(
        model,
        noise,
        steps,
        cfg,
        sampler_name,
        scheduler,
        positive,
        negative,
        latent,
        denoise=1.0,
        callback=callback,
        disable_pbar=True,
        seed=seed,
    )


def model_weight_dtype(model: Any) -> str | None:
    """The diffusion model's weight dtype as ComfyUI holds it (e.g. float8_e4m3fn); None if unknown."""
    try:
        dtype = model.model_dtype()
    except Exception:  # a patcher without the method or a model that cannot say
        return None
    return None if dtype is None else str(dtype).replace("torch.", "")


def decode_latent(vae: Any, samples: Any) -> Any:
    """VAEDecode: latent -> IMAGE tensor (BxHxWx3)."""
    images = vae.decode(samples)
    if len(images.shape) == 5:  # video VAEs return a frame axis
        images = images.reshape(-1, images.shape[-3], images.shape[-2], images.shape[-1])
    return images


# ----------------------------------------------------------------------------- (added for
# CaptionTokenizer / DatasetCheck)


def comfyui_dir() -> str:
    """ComfyUI's source folder (holds comfy/sd1_tokenizer, comfy/text_encoders/t5_tokenizer).

    Taken from where ``folder_paths.py`` lives: ``folder_paths.base_path`` moves with
    ``--base-directory``, the source tree does not.
    """
    import folder_paths

    return os.path.dirname(os.path.realpath(folder_paths.__file__))


# ----------------------------------------------------------------------------- (added for
# TrainIdentityLoRA): model folders, the LoRA folder, freeing ComfyUI's VRAM and RAM, live progress
# messages.


def model_file_names(folder: str) -> list[str]:
    """Files ComfyUI lists in a model folder (legacy names such as ``clip`` map to the new ones)."""
    import folder_paths

    return list(folder_paths.get_filename_list(folder))


def model_file_path(folder: str, name: str) -> str:
    """Full path of a model chosen in a combo; FileNotFoundError names the folder when it is gone."""
    import folder_paths

    return folder_paths.get_full_path_or_raise(folder, name)


def lora_folders() -> list[str]:
    """ComfyUI's ``loras`` folders, in the order LoraLoader searches them."""
    import folder_paths

    return list(folder_paths.get_folder_paths("loras"))


def lora_root() -> str:
    """The first ``loras`` folder: where LoraLoader looks first."""
    import folder_paths

    return folder_paths.get_folder_paths("loras")[0]


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def loader_combo(class_type: str, input_name: str) -> list:
    """The current choices of a core loader's combo input (e.g. UNETLoader's ``unet_name``).

    An output typed with this list can be linked to that input: ComfyUI's validation compares a
    linked output's type with the combo's list, as for V3 ``Combo.Output``.
    """
    import nodes

    spec = nodes.NODE_CLASS_MAPPINGS[class_type].INPUT_TYPES()
    section = "required" if input_name in spec.get("required", {}) else "optional"
    return list(spec[section][input_name][0])


class ComfyMemory:
    """``sd_scripts_bridge.host_memory.MemoryHost`` for ComfyUI: what its model management frees.

    VRAM: ``unload_all_models`` moves every model off the GPU, then ``soft_empty_cache`` returns
    torch's cached blocks; the free VRAM measured after that is what the tier is chosen from.
    RAM: models that nothing references any more (reference cycles) are collected and dropped
    from the loaded list, and glibc returns freed heap pages to the system. A model that a node of
    the running workflow still holds (its loader ran before training) cannot be freed mid-prompt;
    it is counted and named, so the refusal can say so.
    """

    def release_vram(self):
        import gc

        import comfy.model_management as mm
        import torch

        from ..sd_scripts_bridge.host_memory import Release
        from ..sd_scripts_bridge.model import DeviceReport

        loaded = len(mm.current_loaded_models)
        cuda = torch.cuda.is_available()
        free_before = mm.get_free_memory(mm.get_torch_device()) if cuda else None
        mm.unload_all_models()
        gc.collect()
        mm.soft_empty_cache()
        text = f"unloaded {loaded} model(s) ComfyUI held"
        if not cuda:
            return Release(text + " (no CUDA device: nothing in VRAM)")
        device = mm.get_torch_device()
        free = mm.get_free_memory(device) / 2**30
        text += f"; free VRAM {free_before / 2**30:.1f} GiB -> {free:.1f} GiB"
        report = DeviceReport(
            free_vram_gib=round(free, 2),
            total_vram_gib=round(mm.get_total_memory(device) / 2**30, 2),
            gpu_name=torch.cuda.get_device_name(device),
            gpu_count=torch.cuda.device_count(),
            measured_by="after ComfyUI unloaded its models",
        )
        return Release(text, report)

    def release_ram(self):
        import gc

        import comfy.model_management as mm
        import psutil

        from ..sd_scripts_bridge.host_memory import Release

        before = psutil.virtual_memory().available
        mm.unload_all_models()
        gc.collect()
        mm.cleanup_models_gc()
        mm.cleanup_models()
        mm.soft_empty_cache()
        _trim_malloc()
        after = psutil.virtual_memory().available
        held = held_models()
        text = f"ComfyUI released its models from RAM ({(after - before) / 1e9:+.1f} GB available)"
        names = tuple(f"{name} {size / 1e9:.1f} GB" for name, size in held)
        return Release(text, held_ram_bytes=sum(size for _, size in held), held_models=names)


def held_models() -> list[tuple[str, int]]:
    """(class name, bytes in RAM) of every live ComfyUI model, each underlying model once."""
    import gc

    import comfy.model_patcher

    seen: dict[int, tuple[str, int]] = {}
    for item in gc.get_objects():
        if isinstance(item, comfy.model_patcher.ModelPatcher) and id(item.model) not in seen:
            size = item.model_size()
            on_device = 0 if item.load_device.type == "cpu" else item.loaded_size()
            seen[id(item.model)] = (type(item.model).__name__, size - on_device)
    return sorted(seen.values(), key=lambda entry: -entry[1])


def _trim_malloc() -> None:
    """Give the heap pages freed objects leave behind back to the system (glibc only)."""
    import contextlib
    import ctypes
    import sys

    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)


def send_event(event: str, data: dict, prompt: tuple[str | None, str | None]) -> None:
    """A custom websocket message (``{"type": event, "data": data}``) for the client that queued
    ``prompt`` (prompt id, client id), carrying the prompt id; nobody gets it when the prompt was
    queued without a client id (ComfyUI would send a message without ``sid`` to every client)."""
    from server import PromptServer

    prompt_id, client_id = prompt
    if client_id is not None:
        PromptServer.instance.send_sync(event, {**data, "prompt_id": prompt_id}, client_id)


def send_node_text(node_id: str | None, text: str, client_id: str | None) -> None:
    """Live text shown on the node while it runs (ComfyUI's progress-text channel), for the
    prompt's own client only."""
    from server import PromptServer

    if node_id is not None and client_id is not None and hasattr(PromptServer.instance, "send_progress_text"):
        PromptServer.instance.send_progress_text(text, node_id, client_id)


# ----------------------------------------------------------------------------- (added for a shared
# server): the folders ComfyUI serves, the allowed roots for folder inputs, the private work folder.

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def served_folders() -> list[str]:
    """Folders ComfyUI serves to every client (/view, /upload, userdata)."""
    import folder_paths

    return [
        folder_paths.get_input_directory(),
        folder_paths.get_output_directory(),
        folder_paths.get_temp_directory(),
        folder_paths.get_user_directory(),
    ]


def server_settings():
    """The owner's settings file (and environment), read on each use: the owner may edit it live."""
    from ..identity_core.access import read_settings

    return read_settings(PACK_DIR)


def allowed_roots() -> tuple:
    """ComfyUI's input folder plus the roots the server owner listed (none may overlap the work
    folder, whose staged photos and backups are private)."""
    import folder_paths

    from ..identity_core.access import allowed_roots as roots
    from ..identity_core.access import refuse_roots_over

    settings = server_settings()
    found = roots(folder_paths.get_input_directory(), settings.readable_roots)
    refuse_roots_over(work_folder(), found)
    return found


def writable_roots() -> tuple:
    """Where caption files may be rewritten: ComfyUI's input folder and the owner's writable roots."""
    import folder_paths

    from ..identity_core.access import allowed_roots as roots
    from ..identity_core.access import refuse_roots_over

    found = roots(folder_paths.get_input_directory(), server_settings().writable_roots)
    refuse_roots_over(work_folder(), found)
    return found


def work_folder():
    """The pack's private work folder (not served by ComfyUI), created on first use."""
    import folder_paths

    from ..identity_core.access import work_folder as private_folder

    return private_folder(folder_paths.base_path, served_folders(), server_settings().work_folder)


def gpu_count() -> int:
    """CUDA devices present (0 without CUDA)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


# ----------------------------------------------------------------------------- (added for a shared
# server, round two): server paths hidden from what clients read, events for their own prompt.


def private_path_labels():
    """Every place of this server a message may name, with the label clients see instead."""
    import folder_paths

    from ..identity_core.access import PRIVATE_LABEL, PathLabels

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
    """A node's FUNCTION whose error messages and ``ui`` texts name places, not server paths.

    ComfyUI stores both in /history, which every client reads; the server's log keeps the paths.
    """
    import functools

    @functools.wraps(function)
    def run(*args, **kwargs):
        from ..identity_core.access import hide_in_error

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


def current_prompt() -> tuple[str | None, str | None]:
    """(prompt id, client id) of the prompt running now; a client id is None when it queued without one."""
    from server import PromptServer

    prompt_id = None
    try:
        from comfy_execution.utils import get_executing_context

        context = get_executing_context()
        prompt_id = context.prompt_id if context is not None else None
    except ImportError:  # ComfyUI before the execution context (0.3.4x)
        pass
    server = PromptServer.instance
    return prompt_id or getattr(server, "last_prompt_id", None), getattr(server, "client_id", None)
