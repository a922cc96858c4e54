"""Load the random FLUX files with the engine's own loaders and print what they reported, as JSON.

Run with the engine's Python, from the engine's sd-scripts folder:
``python engine_load_check.py DIT AE CLIP_L T5XXL``. Each loader builds its model on ``meta`` and
loads with ``strict=False, assign=True``: a missing key is only logged and leaves a meta tensor that
fails later, so this reports missing and unexpected keys and any tensor still on ``meta``.
The T5 is loaded through mmap (fp8, 4.4 GiB of pages that are never touched here).
"""

import json
import os
import sys

sys.path.insert(0, os.getcwd())

import torch
from library import flux_utils

dit_path, ae_path, clip_path, t5_path = sys.argv[1:5]


def keys_report(model, path):
    from safetensors import safe_open

    with safe_open(path, framework="pt") as f:
        file_keys = set(f.keys())
    model_keys = set(model.state_dict().keys())
    return {
        "missing": sorted(model_keys - file_keys),
        "unexpected": sorted(file_keys - model_keys),
        "meta_tensors": sorted(k for k, v in model.state_dict().items() if v.is_meta),
    }


report = {}
is_schnell, model = flux_utils.load_flow_model(dit_path, torch.float8_e4m3fn, "cpu")
report["dit"] = {
    "is_schnell": is_schnell,
    "double_blocks": len(model.double_blocks),
    "single_blocks": len(model.single_blocks),
    "dtype": str(next(model.parameters()).dtype),
    **keys_report(model, dit_path),
}
del model
ae = flux_utils.load_ae(ae_path, torch.float32, "cpu")
report["ae"] = keys_report(ae, ae_path)
del ae
clip = flux_utils.load_clip_l(clip_path, torch.float32, "cpu")
report["clip_l"] = keys_report(clip, clip_path)
del clip
t5 = flux_utils.load_t5xxl(t5_path, None, "cpu")
t5_report = keys_report(t5, t5_path)
tied = "encoder.embed_tokens.weight"  # the same tensor as shared.weight, never stored
t5_report["missing"] = [k for k in t5_report["missing"] if k != tied]
t5_report["dtype"] = str(t5.shared.weight.dtype)
report["t5xxl"] = t5_report
print("REPORT " + json.dumps(report))
