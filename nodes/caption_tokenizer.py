"""Placeholder for the CaptionTokenizer node; replaced by its issue's implementation."""

from .comfy_glue import CATEGORY_ROOT


class CaptionTokenizer:
    DISPLAY_NAME = "Caption Tokenizer (identity)"
    CATEGORY = CATEGORY_ROOT
    RETURN_TYPES = ()
    FUNCTION = "run"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {}}

    def run(self):
        raise NotImplementedError("CaptionTokenizer is not implemented yet")
