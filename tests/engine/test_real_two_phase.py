"""Two-phase text-encoder training with the real engine: phase 2 keeps phase 1's CLIP-L LoRA bit for bit.

Section 5 of the design document allows TE training only with >= 15 images, a non-unique token and
regularization, so this run uses 15 demo images + 1 regularization image (16 captions, one batched
T5-XXL pass), 64 px, rank 4 and 2 steps: phase 1 (1 step, CLIP-L LoRA trained) then phase 2 (1 step,
``--network_weights`` phase 1, ``--text_encoder_lr 0``). Skipped, with the reason, when
``IDENTITY_LORA_ENGINE`` is not set.
"""

from __future__ import annotations

import pytest
import torch
from safetensors import safe_open

from devkit.tiny_training import tiny_request
from sd_scripts_bridge.plan.build import build_plan
from sd_scripts_bridge.run.runner import run_training

pytestmark = [pytest.mark.engine, pytest.mark.timeout(3600)]
CLIP_MODULES = 72  # 12 layers x (q, k, v, out, fc1, fc2)
UNET_MODULES = 13  # 1 double block x 10 + 1 single block x 3


def _tensors(path):
    with safe_open(path, framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()  # noqa: SIM118


@pytest.fixture(scope="module")
def two_phase(real_engine, engine_inputs, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("two_phase") / "run"
    request = tiny_request(
        engine_inputs, run_dir, subject=15, reg=1, te_policy="two_phase", token_is_unique=False
    )
    plan = build_plan(request, real_engine)
    result = run_training(plan, real_engine)
    return plan, result


def test_plan_has_the_two_phases_of_section_5(two_phase):
    plan, _ = two_phase
    phase1, phase2 = plan.phases
    assert (phase1.name, phase2.name) == ("te_phase1", "te_phase2")
    for phase in plan.phases:
        assert "--network_train_unet_only" not in phase.argv
    assert float(phase1.argv[phase1.argv.index("--text_encoder_lr") + 1]) > 0
    assert phase2.argv[phase2.argv.index("--text_encoder_lr") + 1] == "0"
    assert phase2.argv[phase2.argv.index("--network_weights") + 1] == str(phase1.output_file)


def test_phase2_keeps_the_phase1_text_encoder_weights_and_trains_the_dit(two_phase):
    plan, result = two_phase
    first, _ = _tensors(plan.phases[0].output_file)
    final, meta = _tensors(result.lora_path)
    te_keys = sorted(k for k in final if k.startswith("lora_te1_"))
    unet_keys = sorted(k for k in final if k.startswith("lora_unet_"))
    assert len(te_keys) == 3 * CLIP_MODULES and len(unet_keys) == 3 * UNET_MODULES
    assert set(first) == set(final)
    assert all(torch.equal(first[k], final[k]) for k in te_keys)
    assert any(not torch.equal(first[k], final[k]) for k in unet_keys if k.endswith(".weight"))
    assert meta["identity_lora_text_encoder"] == "two_phase"
    assert result.steps == 2
