"""Shared inputs of the real-engine tests: the engine, the random FLUX set, tokenizers, a tiny dataset.

These tests need a real sd-scripts engine (``python -m sd_scripts_bridge install``) named by
``IDENTITY_LORA_ENGINE``; without it they are skipped with that reason. A real training on CPU
costs about 6 s per step and, on the first run of a run folder (when the T5-XXL outputs are
cached), about 6.5 GB of RAM: never run two of these sessions at once on a small machine.
"""

from __future__ import annotations

import os

import pytest

from devkit.demo_dataset import ensure_demo_dataset
from devkit.tiny_training import EngineInputs
from devkit.tokenizers import ensure_tokenizers
from sd_scripts_bridge.engine.folder import ENGINE_ENV_VAR, locate_engine
from sd_scripts_bridge.model import Engine
from tests.fixtures.models import tiny_flux_files  # noqa: F401  (pytest fixture)


@pytest.fixture(scope="session")
def real_engine() -> Engine:
    root = os.environ.get(ENGINE_ENV_VAR)
    if not root:
        pytest.skip(
            f"{ENGINE_ENV_VAR} is not set: these tests run the real sd-scripts engine "
            "(install one with `python -m sd_scripts_bridge install --engine DIR`, "
            f"then export {ENGINE_ENV_VAR}=DIR)"
        )
    return locate_engine(root)  # set but broken is an error, not a skip


@pytest.fixture(scope="session")
def engine_inputs(real_engine, tiny_flux_files) -> EngineInputs:  # noqa: F811
    return EngineInputs(tiny_flux_files, ensure_tokenizers(), ensure_demo_dataset())
