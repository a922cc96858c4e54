"""The tiny CPU training request of the real-engine tests, the node test and the overhead benchmarks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sd_scripts_bridge.model import DatasetImage, PlanRequest

from .demo_dataset import DemoDataset
from .tiny_flux import TinyFluxFiles

# The smallest real run: 64 px (16 image tokens), 16 T5 tokens, rank 4, no loader workers. On a CPU
# without bf16 instructions (AVX2 only) bf16 matrix products take a slow path: measured here about
# 160 s per step and about 130 s per caption for the T5-XXL pass, so every caption and step counts.
TINY_OVERRIDES = {
    "resolution": 64,
    "min_bucket_reso": 64,
    "max_bucket_reso": 128,
    "network_dim": 4,
    "network_alpha": 4,
    "lr_warmup_steps": 1,
    "num_repeats": 2,
    "t5xxl_max_token_length": 16,
    "max_data_loader_n_workers": 0,
    "keep_subject_steps": False,  # engine steps as given: each one costs minutes on this CPU
}


@dataclass(frozen=True)
class EngineInputs:
    models: TinyFluxFiles
    tokenizers: Path
    dataset: DemoDataset


def tiny_request(
    inputs: EngineInputs, run_dir: Path, subject: int = 1, reg: int = 1, **changes
) -> PlanRequest:
    """A CPU request on the first ``subject``/``reg`` demo images (each caption costs one T5 pass)."""
    data = inputs.dataset
    fields = {
        "profile": "fast",
        "images": tuple(DatasetImage(i.path, i.caption) for i in data.subject[:subject]),
        "regularization": tuple(DatasetImage(i.path, i.caption) for i in data.regularization[:reg]),
        "models": inputs.models.as_model_files(),
        "output_name": "tiny_identity",
        "run_dir": run_dir,
        "publish_dir": run_dir.parent / "loras",
        "trigger_token": data.trigger,
        "class_word": data.class_word,
        "tokenizer_cache_dir": inputs.tokenizers,
        "cpu": True,
        "overrides": {**TINY_OVERRIDES, "max_train_steps": 2},
    }
    fields.update(changes)
    return PlanRequest(**fields)
