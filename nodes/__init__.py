"""Thin ComfyUI adapters. Each module holds one node; the logic lives in the pure-Python
packages ``identity_core`` and ``sd_scripts_bridge``, which never import ComfyUI."""

from .arcface_score import ArcFaceScore
from .caption_tokenizer import CaptionTokenizer
from .dataset_check import DatasetCheck
from .load_identity_checkpoints import LoadIdentityCheckpoints
from .strength_sweep import StrengthSweep
from .train_identity_lora import TrainIdentityLoRA

_NODES = (
    DatasetCheck,
    CaptionTokenizer,
    TrainIdentityLoRA,
    StrengthSweep,
    ArcFaceScore,
    LoadIdentityCheckpoints,
)

NODE_CLASS_MAPPINGS = {node.__name__: node for node in _NODES}
NODE_DISPLAY_NAME_MAPPINGS = {node.__name__: node.DISPLAY_NAME for node in _NODES}
