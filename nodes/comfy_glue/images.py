"""Images between ComfyUI and the pack: IMAGE tensors are BxHxWx3 float 0..1; ``identity_core``
uses RGB uint8 HxWx3 numpy arrays. Previews go to ComfyUI's temp folder."""

from __future__ import annotations

import os
from typing import Any

from .server_folders import temp_directory


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
