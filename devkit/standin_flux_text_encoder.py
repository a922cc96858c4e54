"""TEST ONLY single-file ComfyUI custom node: a stand-in for FLUX's text encoders.

Why: ComfyUI's FLUX text encoder is a full-size T5-XXL (4.7B parameters). Measured on the
2-core CI machine with the random fp8 T5 of ``devkit/tiny_flux.py``: DualCLIPLoader (type flux)
loads it in 11.7 s with a peak RSS of 10.7 GB, and encoding one short prompt had not finished
after 70 s. CPU tests therefore use this node instead of DualCLIPLoader.

``StandInFluxTextEncoder`` returns a CLIP-typed object with the two methods that
CLIPTextEncode and StrengthSweep call (``tokenize`` and ``encode_from_tokens_scheduled``).
It has no language model: the conditioning is random numbers seeded by the text's hash, in
FLUX's shapes (T5 sequence ``1 x 16 x 4096``, CLIP-L pooled ``1 x 768``). Different texts give
different conditioning; the same text always gives the same one. Nothing it produces means
anything; it only lets the real FLUX sampling path run. It does not accept LoRA patches.

The harness loads it as a second whitelisted custom node (a file named
``identity_lora_standins.py`` in the server's custom_nodes folder).
"""

import hashlib

import torch

SEQUENCE_LENGTH = 16
T5_WIDTH = 4096
POOLED_WIDTH = 768


class StandInFluxClip:
    def tokenize(self, text, return_word_ids=False, **kwargs):
        return {"stand_in_text": text}

    def encode_from_tokens_scheduled(self, tokens, unprojected=False, add_dict=None, show_pbar=True):
        digest = hashlib.sha256(tokens["stand_in_text"].encode("utf-8")).digest()
        generator = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little"))
        cond = torch.randn(1, SEQUENCE_LENGTH, T5_WIDTH, generator=generator)
        pooled = torch.randn(1, POOLED_WIDTH, generator=generator)
        return [[cond, {"pooled_output": pooled, **(add_dict or {})}]]

    def clone(self):
        return self

    def add_patches(self, patches, strength_patch=1.0, strength_model=1.0):
        return []


class StandInFluxTextEncoder:
    DESCRIPTION = "TEST ONLY: hashed text -> FLUX-shaped conditioning, no language model."
    CATEGORY = "testing/identity_lora"
    RETURN_TYPES = ("CLIP",)
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {}}

    def load(self):
        return (StandInFluxClip(),)


NODE_CLASS_MAPPINGS = {"StandInFluxTextEncoder": StandInFluxTextEncoder}
NODE_DISPLAY_NAME_MAPPINGS = {"StandInFluxTextEncoder": "Stand-in FLUX text encoder (TEST ONLY)"}
