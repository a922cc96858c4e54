"""Apply trained LoRAs to the random FLUX DiT in ComfyUI and print what happened, as JSON.

Run with ComfyUI's Python from ComfyUI's folder: ``python comfy_lora_check.py DIT LORA [LORA...]``.
Uses the same calls as the core nodes (UNETLoader: ``load_diffusion_model``; LoraLoaderModelOnly:
``load_lora_for_models``) and collects ComfyUI's ``lora key not loaded`` warnings: one
``REPORT {...}`` line per LoRA, in the order given, the DiT loaded once.
"""

import json
import logging
import os
import sys

dit_path, lora_paths = sys.argv[1], sys.argv[2:]
sys.path.insert(0, os.getcwd())
sys.argv = [sys.argv[0], "--cpu"]

from comfy.options import enable_args_parsing  # noqa: E402

enable_args_parsing()

import comfy.sd  # noqa: E402
import comfy.utils  # noqa: E402


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


collected = Collect()
logging.getLogger().addHandler(collected)
model = comfy.sd.load_diffusion_model(dit_path)
for lora_path in lora_paths:
    collected.messages.clear()
    lora = comfy.utils.load_torch_file(lora_path, safe_load=True)
    patched, _ = comfy.sd.load_lora_for_models(model, None, lora, 1.0, 0.0)
    report = {
        "lora": lora_path,
        "patched_weights": sorted(patched.patches.keys()),
        "not_loaded": [m for m in collected.messages if "lora key not loaded" in m],
    }
    print("REPORT " + json.dumps(report), flush=True)
