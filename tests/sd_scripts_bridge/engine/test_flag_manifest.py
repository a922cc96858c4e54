"""Every flag of every generated plan is one the pinned engine's parser accepts.

The manifest (sd_scripts_bridge/engine/flag_manifest.json) comes from the real parsers of the pinned
engine (scripts/make_flag_manifest.py). When IDENTITY_LORA_ENGINE points at an installed engine,
the plans' flags are also fed to the real parser and the TOML to the engine's schema.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess

import pytest

from sd_scripts_bridge.engine.flag_manifest import (
    UnknownFlagError,
    check_command,
    load_manifest,
    split_command,
)
from sd_scripts_bridge.engine.folder import ENGINE_ENV_VAR, locate_engine
from sd_scripts_bridge.engine.pins import ENGINE_COMMIT
from sd_scripts_bridge.model import DeviceReport
from sd_scripts_bridge.plan.build import build_plan
from sd_scripts_bridge.plan.tiers import TIER_ORDER
from tests.sd_scripts_bridge import plan_builders as builders

RESUME_FLAGS = ("--resume", "/run/output/me-step00000250-state", "--skip_until_initial_step")


def all_plans(tmp_path, engine=None):
    """Every profile x tier x TE policy x reg x samples/validation/save x cpu/multi-GPU combination."""
    real_engine = engine is not None  # the real one must pass the pin check; the fake one cannot
    engine = engine or builders.make_engine(tmp_path)
    images = builders.make_images(tmp_path / "dataset", 16)
    reg = builders.make_images(tmp_path / "reg", 4, "reg", None)
    plans = []
    combos = itertools.product(
        ("fast", "final"),
        ("auto", *TIER_ORDER),
        ("auto", "frozen", "two_phase"),
        (False, True),
        (False, True),
    )
    for profile, tier, policy, with_reg, extras in combos:
        if policy == "two_phase" and not with_reg:
            continue
        request = builders.make_request(
            tmp_path,
            profile=profile,
            images=images,
            regularization=reg if with_reg else (),
            vram_tier=tier,
            device=DeviceReport(free_vram_gib=23.6) if tier == "auto" else None,
            te_policy=policy,
            token_is_unique=False,
            save_every_n_steps=250 if extras else None,
            sample_prompts=("ohwx person, portrait",) if extras else (),
            validation_split=0.1 if extras else 0.0,
            tokenizer_cache_dir=tmp_path if extras else None,
            cpu=extras and tier in ("auto", "12gb"),  # 12gb: CPU with two processes
            num_processes=2 if extras and tier in ("80gb", "12gb") else 1,
            overrides={"t5xxl_max_token_length": 64} if extras else {},
            allow_unpinned_engine=not real_engine,
        )
        plans.append(build_plan(request, engine))
    return plans


def test_manifest_is_from_the_pinned_commit():
    manifest = load_manifest()
    assert manifest["engine_commit"] == ENGINE_COMMIT
    assert manifest["train_script"] == "flux_train_network.py"
    options = manifest["train_options"]
    assert len(options) > 150
    assert options["--network_train_unet_only"]["takes_value"] is False
    assert options["--text_encoder_lr"]["nargs"] == "*"
    assert "flux_shift" in options["--timestep_sampling"]["choices"]
    assert "--cpu" in manifest["accelerate_launch_options"]


def test_every_flag_of_every_plan_is_accepted(tmp_path):
    plans = all_plans(tmp_path)
    assert len(plans) == 2 * (1 + len(TIER_ORDER)) * 5 * 2  # two_phase only with regularization
    seen = set()
    for plan in plans:
        for phase in plan.phases:
            check_command(phase.argv, builders.make_engine(tmp_path).train_script)
            check_command((*phase.argv, *RESUME_FLAGS), builders.make_engine(tmp_path).train_script)
            seen.update(item for item in phase.argv if item.startswith("--"))
    for flag in (
        "--blocks_to_swap",
        "--fp8_base",
        "--network_weights",
        "--sample_prompts",
        "--save_state",
        "--validate_every_n_steps",
        "--tokenizer_cache_dir",
        "--cpu",
        "--multi_gpu",
        "--num_cpu_threads_per_process",
        "--prior_loss_weight",
    ):
        assert flag in seen, flag  # the combinations really cover these
    assert "--split_mode" not in seen


def test_unknown_flags_are_caught():
    script = "/e/flux_train_network.py"
    base = ["python", "-m", "accelerate.commands.launch", "--num_processes", "1", script]
    with pytest.raises(UnknownFlagError, match="--learning_rat "):
        check_command([*base, "--learning_rat", "1"], script)
    with pytest.raises(UnknownFlagError, match="accelerate launch"):
        check_command(["python", "-m", "accelerate.commands.launch", "--gpus_please", script], script)
    with pytest.raises(UnknownFlagError, match="was given a value"):
        check_command([*base, "--network_train_unet_only", "yes"], script)
    with pytest.raises(UnknownFlagError, match="choices"):
        check_command([*base, "--timestep_sampling", "magic"], script)
    with pytest.raises(UnknownFlagError, match="training script"):
        check_command(base[:-1], script)


def test_split_command():
    launcher, engine_args = split_command(
        ["py", "-m", "accelerate.commands.launch", "--cpu", "/s.py", "--seed", "1"], "/s.py"
    )
    assert launcher == ["--cpu"] and engine_args == ["--seed", "1"]


def test_bad_extra_accelerate_argument_is_refused_at_plan_time(tmp_path):
    request = builders.make_request(tmp_path, extra_accelerate_args=("--not_an_accelerate_option",))
    with pytest.raises(UnknownFlagError):
        build_plan(request, builders.make_engine(tmp_path))


PARSE_PROBE = r"""
import json, sys, toml
sys.path.insert(0, ".")
import flux_train_network
from library import config_util
parser = flux_train_network.setup_parser()
jobs = json.load(open(sys.argv[1]))
results = []
for job in jobs:
    args = parser.parse_args(job["args"])
    config_util.ConfigSanitizer(True, True, False, True).sanitize_user_config(toml.load(job["toml"]))
    results.append({key: getattr(args, key) for key in job["read"]})
print("PARSED " + json.dumps(results))
"""


@pytest.mark.engine
def test_real_parser_accepts_every_plan(tmp_path):
    if not os.environ.get(ENGINE_ENV_VAR):
        pytest.skip(f"{ENGINE_ENV_VAR} is not set: no real sd-scripts engine to parse the plans with")
    engine = locate_engine()
    jobs, expected = [], []
    read = [
        "network_train_unet_only",
        "text_encoder_lr",
        "max_train_steps",
        "fp8_base",
        "blocks_to_swap",
        "optimizer_args",
        "network_weights",
        "resume",
        "skip_until_initial_step",
    ]
    for index, plan in enumerate(all_plans(tmp_path, engine)[::5]):
        toml_path = tmp_path / f"dataset{index}.toml"
        toml_path.write_text(plan.dataset_toml, encoding="utf-8")
        for phase in plan.phases:
            _, engine_args = split_command(phase.argv, engine.train_script)
            jobs.append({"args": [*engine_args, *RESUME_FLAGS], "toml": str(toml_path), "read": read})
            expected.append(phase)
    jobs_file = tmp_path / "jobs.json"
    jobs_file.write_text(json.dumps(jobs))
    completed = subprocess.run(
        [str(engine.python), "-c", PARSE_PROBE, str(jobs_file)],
        cwd=engine.source_dir,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    line = next(line for line in completed.stdout.splitlines() if line.startswith("PARSED "))
    results = json.loads(line[len("PARSED ") :])
    assert len(results) == len(expected)
    for phase, parsed in zip(expected, results, strict=True):
        assert parsed["max_train_steps"] == phase.max_train_steps
        assert parsed["optimizer_args"] == [
            "relative_step=False",
            "scale_parameter=False",
            "warmup_init=False",
        ]
        assert parsed["network_train_unet_only"] is (phase.name == "train")
        assert parsed["skip_until_initial_step"] is True
        if phase.name == "te_phase2":
            assert parsed["text_encoder_lr"] == [0.0]
            assert parsed["network_weights"] == str(phase.network_weights)
