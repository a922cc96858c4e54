"""Load the random FLUX files with ComfyUI's own loaders and print what ComfyUI said, as JSON.

Run with ComfyUI's Python and ComfyUI's folder as the working directory (ComfyUI must not be imported
into the pytest process). Usage: ``python comfy_load_check.py DIT AE CLIP_L T5XXL``.

- DiT: ``comfy.sd.load_diffusion_model`` (what UNETLoader calls), on CPU.
- AE: ``comfy.sd.VAE`` (VAELoader). CLIP-L: ``comfy.sd.load_clip`` (CLIPLoader).
- T5-XXL: loading 4.7B params would need ~10 GB of RAM here, so only the file's header is used: the
  text-encoder detection on its shapes, and its key set against ComfyUI's T5 built on ``meta``.
"""

import json
import logging
import os
import sys

dit_path, ae_path, clip_path, t5_path = sys.argv[1:5]
sys.path.insert(0, os.getcwd())
sys.argv = [sys.argv[0], "--cpu"]

from comfy.options import enable_args_parsing  # noqa: E402

enable_args_parsing()

import comfy.model_detection  # noqa: E402
import comfy.ops  # noqa: E402
import comfy.sd  # noqa: E402
import comfy.text_encoders.t5  # noqa: E402
import comfy.utils  # noqa: E402
import torch  # noqa: E402
from safetensors import safe_open  # noqa: E402


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


collected = Collect()
logging.getLogger().addHandler(collected)
report = {}

dit = comfy.sd.load_diffusion_model(dit_path)
unet = dit.model.diffusion_model
report["dit"] = {
    "class": type(dit.model).__name__,
    "double_blocks": len(unet.double_blocks),
    "single_blocks": len(unet.single_blocks),
    "hidden_size": unet.hidden_size,
    "guidance_embed": unet.params.guidance_embed,
    "meta_tensors": [k for k, v in unet.state_dict().items() if v.is_meta],
}
del dit, unet

vae = comfy.sd.VAE(sd=comfy.utils.load_torch_file(ae_path))
report["ae"] = {"latent_channels": vae.latent_channels}
del vae

clip = comfy.sd.load_clip([clip_path], clip_type=comfy.sd.CLIPType.STABLE_DIFFUSION)
tokens = clip.tokenize("a photo of ohwx person")
cond = clip.encode_from_tokens(tokens)
report["clip_l"] = {"cond_shape": list(cond.shape), "finite": bool(torch.isfinite(cond).all())}
del clip

with safe_open(t5_path, framework="pt") as f:
    t5_meta = {k: torch.empty(f.get_slice(k).get_shape(), device="meta") for k in f.keys()}  # noqa: SIM118
config_path = os.path.join(os.path.dirname(comfy.text_encoders.t5.__file__), "t5_config_xxl.json")
with open(config_path) as f:
    t5_config = json.load(f)
t5 = comfy.text_encoders.t5.T5(t5_config, torch.float32, "meta", comfy.ops.manual_cast)
comfy_sd = t5.state_dict()
comfy_keys = set(comfy_sd)
report["t5xxl"] = {
    "detected": comfy.sd.detect_te_model(t5_meta).name,
    "missing": sorted(comfy_keys - set(t5_meta)),
    "unexpected": sorted(set(t5_meta) - comfy_keys),
    "shape_mismatch": sorted(k for k in comfy_keys & set(t5_meta) if comfy_sd[k].shape != t5_meta[k].shape),
}

report["warnings"] = collected.messages
print("REPORT " + json.dumps(report))
