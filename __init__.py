"""FLUX Identity LoRA: a ComfyUI node pack that checks an identity dataset, fixes its
captions, trains a FLUX.1 LoRA with kohya-ss/sd-scripts, sweeps LoRA strengths and scores
identity with face embeddings.

Loading the pack must stay cheap: this module only registers node classes and model
folders. Heavy libraries (insightface, cv2, matplotlib, the engine bridge's runner) are
imported inside the nodes when they run. Relative imports only: the pack folder may have
any name, and ComfyUI's own top-level ``nodes`` module must never be shadowed.
"""

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS
from .nodes.comfy_glue.model_folders import register_model_folders

register_model_folders()

WEB_DIRECTORY = "./web"

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
