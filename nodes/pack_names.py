"""The names ComfyUI shows for this pack: its nodes' menu category and the socket types of the
values they pass between them."""

CATEGORY_ROOT = "FLUX Identity LoRA"

DATASET_TYPE = "IDENTITY_DATASET"  # identity_core.dataset.model.Dataset
SWEEP_TYPE = "IDENTITY_SWEEP"  # identity_core.evaluation.model.Sweep
CHECKPOINTS_TYPE = "IDENTITY_CHECKPOINTS"  # identity_core.evaluation.checkpoints.CheckpointSet
