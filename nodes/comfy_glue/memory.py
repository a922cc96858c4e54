"""The GPUs, and the VRAM and RAM that ComfyUI's models hold (freed for training)."""

from __future__ import annotations


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def gpu_count() -> int:
    """CUDA devices present (0 without CUDA)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


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

        from ...sd_scripts_bridge.host_memory import Release
        from ...sd_scripts_bridge.model import DeviceReport

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

        from ...sd_scripts_bridge.host_memory import Release

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
