"""TEST ONLY single-file ComfyUI custom node: inert MODEL, CLIP and VAE values for hostile-client tests.

``InertSamplingModels`` gives objects of ComfyUI's MODEL, CLIP and VAE types that load nothing:
the hostile-input tests and the fuzz test queue StrengthSweep with them, so every input of the
node is exercised without a FLUX model in memory. They answer the methods StrengthSweep checks
for; anything that would sample with them raises, so a prompt that got as far as sampling ends
with a known error instead of an image.

The harness loads it as a whitelisted single-file custom node (``identity_lora_fuzz_nodes.py``).
"""


class _Inert:
    """Answers ``clone``, ``tokenize`` and ``decode``; sampling with it is an error that says so."""

    def __init__(self, kind):
        self.kind = kind

    def clone(self, *args, **kwargs):
        return self

    def tokenize(self, *args, **kwargs):
        raise RuntimeError(f"inert test {self.kind}: nothing is sampled with it")

    def decode(self, *args, **kwargs):
        raise RuntimeError(f"inert test {self.kind}: nothing is decoded with it")

    def model_dtype(self):
        return None

    def __repr__(self):
        return f"<inert test {self.kind}>"


class InertSamplingModels:
    DESCRIPTION = "TEST ONLY: MODEL, CLIP and VAE values that load nothing."
    CATEGORY = "testing/identity_lora"
    RETURN_TYPES = ("MODEL", "CLIP", "VAE")
    FUNCTION = "make"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {}}

    def make(self):
        return (_Inert("MODEL"), _Inert("CLIP"), _Inert("VAE"))


NODE_CLASS_MAPPINGS = {"InertSamplingModels": InertSamplingModels}
NODE_DISPLAY_NAME_MAPPINGS = {"InertSamplingModels": "Inert MODEL, CLIP, VAE (TEST ONLY)"}
