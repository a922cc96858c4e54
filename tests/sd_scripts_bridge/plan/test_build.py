"""build_plan: the design document's tables, phases, warnings, metadata and tier reporting."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from sd_scripts_bridge.engine.pins import ENGINE_COMMIT
from sd_scripts_bridge.errors import BridgeError, WrongEngineCommitError
from sd_scripts_bridge.model import DeviceReport, PhaseNetwork
from sd_scripts_bridge.plan.build import METADATA_PREFIX, build_plan
from sd_scripts_bridge.plan.command import with_rendezvous_port
from tests.sd_scripts_bridge import plan_builders as builders

make_engine, make_images, make_request, option = (
    builders.make_engine,
    builders.make_images,
    builders.make_request,
    builders.option,
)


def test_fast_profile_matches_design_document_section_4_1(tmp_path):
    plan = build_plan(make_request(tmp_path), make_engine(tmp_path))
    assert len(plan.phases) == 1
    argv = plan.phases[0].argv
    assert isinstance(argv, tuple) and all(isinstance(item, str) for item in argv)
    assert option(argv, "--network_dim") == "32" and option(argv, "--network_alpha") == "32"
    assert option(argv, "--optimizer_type") == "adafactor"
    start = argv.index("--optimizer_args") + 1
    assert argv[start : start + 3] == ("relative_step=False", "scale_parameter=False", "warmup_init=False")
    assert option(argv, "--learning_rate") == "0.0001"
    assert option(argv, "--lr_scheduler") == "constant_with_warmup"
    assert option(argv, "--lr_warmup_steps") == "100"
    assert option(argv, "--max_train_steps") == "1500"
    assert option(argv, "--mixed_precision") == "bf16"
    assert "--fp8_base" in argv and "--gradient_checkpointing" in argv
    assert "--network_train_unet_only" in argv and "--text_encoder_lr" not in argv
    assert plan.phases[0].network == PhaseNetwork(rank=32, text_encoder_lr=None)
    assert "--network_dropout" not in argv
    assert option(argv, "--timestep_sampling") == "flux_shift"
    assert option(argv, "--model_prediction_type") == "raw"
    assert option(argv, "--guidance_scale") == "1.0"
    assert "--cache_text_encoder_outputs_to_disk" in argv and "--cache_latents_to_disk" in argv
    assert "--noise_offset" not in argv and "--min_snr_gamma" not in argv and "--split_mode" not in argv
    assert plan.settings["resolution"] == 512
    assert (plan.settings["min_bucket_reso"], plan.settings["max_bucket_reso"]) == (256, 768)


def test_final_profile_matches_design_document_section_4_2(tmp_path):
    request = make_request(
        tmp_path, profile="final", regularization=make_images(tmp_path / "reg", 25, "reg", None)
    )
    argv = build_plan(request, make_engine(tmp_path)).phases[0].argv
    assert option(argv, "--network_dim") == "64" and option(argv, "--network_alpha") == "64"
    assert option(argv, "--network_dropout") == "0.1"
    assert option(argv, "--lr_scheduler") == "cosine"
    assert option(argv, "--lr_warmup_steps") == "500"
    assert option(argv, "--prior_loss_weight") == "1.0"


def test_with_regularization_the_subject_keeps_the_profiles_steps(tmp_path):
    request = make_request(
        tmp_path, profile="final", regularization=make_images(tmp_path / "reg", 25, "reg", None)
    )
    plan = build_plan(request, make_engine(tmp_path))
    subject = plan.settings["subject_steps"]
    assert 2000 <= subject <= 3000 and subject == 2500
    assert option(plan.phases[0].argv, "--max_train_steps") == "5000"  # half of them on the priors
    budget = next(w for w in plan.warnings if w.startswith("regularization:"))
    assert "5000 engine steps, 2500 on the subject images and 2500 on the regularization images" in budget
    assert "keep_subject_steps" in budget
    assert not any("design range" in w for w in plan.warnings)
    assert plan.metadata[METADATA_PREFIX + "subject_steps"] == "2500"
    assert plan.metadata[METADATA_PREFIX + "regularization_images"] == "25"


def test_keep_subject_steps_off_says_the_subject_gets_half(tmp_path):
    request = make_request(
        tmp_path,
        profile="final",
        regularization=make_images(tmp_path / "reg", 25, "reg", None),
        overrides={"keep_subject_steps": False},
    )
    plan = build_plan(request, make_engine(tmp_path))
    assert (
        option(plan.phases[0].argv, "--max_train_steps") == "2500" and plan.settings["subject_steps"] == 1250
    )
    assert any("keep_subject_steps is off, so the subject gets half" in w for w in plan.warnings)
    assert any(
        "1250 steps on the subject are outside the final profile's design range" in w for w in plan.warnings
    )


def test_a_step_override_counts_subject_steps_and_no_regularization_changes_nothing(tmp_path):
    with_reg = make_request(
        tmp_path,
        regularization=make_images(tmp_path / "reg", 20, "reg", None),
        overrides={"max_train_steps": 800},
    )
    assert build_plan(with_reg, make_engine(tmp_path)).phases[0].max_train_steps == 1600
    plain = build_plan(make_request(tmp_path, profile="final"), make_engine(tmp_path))
    assert plain.phases[0].max_train_steps == plain.settings["subject_steps"] == 2500
    assert not any(w.startswith("regularization:") for w in plain.warnings)
    assert plain.metadata[METADATA_PREFIX + "regularization_images"] == "0"


def test_prior_loss_weight_only_with_regularization(tmp_path):
    argv = build_plan(make_request(tmp_path, profile="final"), make_engine(tmp_path)).phases[0].argv
    assert "--prior_loss_weight" not in argv


def test_inert_settings_are_reported_with_the_reason(tmp_path):
    plan = build_plan(make_request(tmp_path, profile="final"), make_engine(tmp_path))
    inert = [warning for warning in plan.warnings if "is inert" in warning]
    assert len(inert) == 2
    assert any(w.startswith("noise_offset=0.1") for w in inert)
    assert any(w.startswith("min_snr_gamma=5.0") for w in inert)
    assert all("no effect on FLUX" in w and "Section 4.2" in w for w in inert)
    assert json.loads(plan.metadata[METADATA_PREFIX + "inert_settings"]) == {
        "noise_offset": 0.1,
        "min_snr_gamma": 5.0,
    }


def test_overrides_replace_profile_values(tmp_path):
    request = make_request(
        tmp_path,
        overrides={
            "max_train_steps": 4,
            "lr_warmup_steps": 1,
            "resolution": 128,
            "min_bucket_reso": 64,
            "max_bucket_reso": 256,
        },
    )
    plan = build_plan(request, make_engine(tmp_path))
    argv = plan.phases[0].argv
    assert option(argv, "--max_train_steps") == "4"
    assert "resolution = 128" in plan.dataset_toml
    assert any("outside the fast profile's design range 1500-1500" in w for w in plan.warnings)


def test_warmup_not_below_steps_is_warned(tmp_path):
    plan = build_plan(make_request(tmp_path, overrides={"max_train_steps": 50}), make_engine(tmp_path))
    assert any("never reaches its target" in w for w in plan.warnings)


def test_paths_and_logging_flags(tmp_path):
    request = make_request(tmp_path, tokenizer_cache_dir=tmp_path)
    plan = build_plan(request, make_engine(tmp_path))
    phase = plan.phases[0]
    run_dir = (tmp_path / "run").resolve()
    assert plan.run_dir == run_dir
    assert option(phase.argv, "--output_dir") == str(run_dir / "output")
    assert option(phase.argv, "--output_name") == "person_v1"
    assert option(phase.argv, "--console_log_file") == str(phase.engine_log)
    assert phase.engine_log.parent == run_dir / "logs"
    assert option(phase.argv, "--dataset_config") == str(plan.dataset_toml_path)
    assert option(phase.argv, "--tokenizer_cache_dir") == str(tmp_path)
    assert phase.output_file == run_dir / "output" / "person_v1.safetensors"
    assert "--save_state" not in phase.argv and "--sample_prompts" not in phase.argv


def test_accelerate_prefix(tmp_path):
    engine = make_engine(tmp_path)
    argv = build_plan(make_request(tmp_path), engine).phases[0].argv
    script = argv.index(str(engine.train_script))
    assert list(argv[:script]) == [
        str(engine.python),
        "-m",
        "accelerate.commands.launch",
        "--num_processes",
        "1",
        "--num_machines",
        "1",
        "--mixed_precision",
        "bf16",
        "--dynamo_backend",
        "no",
    ]
    cpu = (
        build_plan(
            make_request(tmp_path, cpu=True, extra_accelerate_args=("--main_process_port", "29555")), engine
        )
        .phases[0]
        .argv
    )
    assert "--cpu" in cpu[: cpu.index(str(engine.train_script))]
    assert cpu[cpu.index(str(engine.train_script)) - 2 :][:2] == ("--main_process_port", "29555")
    # fp32 AE and batched text-encoder caching: bf16 maths is ~100x slower on CPUs without bf16 units
    assert "--no_half_vae" in cpu and option(cpu, "--text_encoder_batch_size") == "16"
    gpu = build_plan(make_request(tmp_path), engine).phases[0].argv
    assert "--no_half_vae" not in gpu and "--text_encoder_batch_size" not in gpu
    multi = build_plan(make_request(tmp_path, num_processes=2), engine).phases[0]
    assert option(multi.argv, "--num_processes") == "2" and "--multi_gpu" in multi.argv
    assert multi.environment == ()


def test_several_cpu_processes_use_the_multi_process_launcher(tmp_path):
    """accelerate 1.6 starts one process with --cpu whatever the count: several CPU processes go
    through --multi_gpu (torch.distributed.run) with CUDA hidden and accelerate told to use the CPU."""
    engine = make_engine(tmp_path)
    phase = build_plan(make_request(tmp_path, cpu=True, num_processes=2), engine).phases[0]
    launcher = phase.argv[: phase.argv.index(str(engine.train_script))]
    assert (
        "--cpu" not in launcher and "--multi_gpu" in launcher and option(launcher, "--num_processes") == "2"
    )
    environment = dict(phase.environment)
    assert environment.pop("PYTHONPATH").endswith("engine/shims/multi_cpu")
    assert environment == {"ACCELERATE_USE_CPU": "true", "CUDA_VISIBLE_DEVICES": ""}
    assert "--no_half_vae" in phase.argv  # still a CPU run for the engine's own settings


def test_a_free_rendezvous_port_is_added_at_launch(tmp_path):
    engine = make_engine(tmp_path)
    multi = build_plan(make_request(tmp_path, num_processes=2), engine).phases[0].argv
    launched = with_rendezvous_port(multi)
    port = int(option(launched, "--main_process_port"))
    assert 0 < port < 65536 and launched.index("--main_process_port") < launched.index(
        str(engine.train_script)
    )
    assert [item for item in launched if item not in ("--main_process_port", str(port))] == list(multi)
    single = build_plan(make_request(tmp_path), engine).phases[0].argv
    assert with_rendezvous_port(single) == list(single)
    chosen = (*multi[:3], "--main_process_port", "29555", *multi[3:])
    assert with_rendezvous_port(chosen) == list(chosen)


def test_save_state_samples_and_validation(tmp_path):
    request = make_request(
        tmp_path, save_every_n_steps=250, sample_prompts=("ohwx person, portrait",), validation_split=0.1
    )
    plan = build_plan(request, make_engine(tmp_path))
    argv = plan.phases[0].argv
    assert option(argv, "--save_every_n_steps") == "250" and "--save_state" in argv
    assert option(argv, "--sample_prompts") == str(plan.sample_prompts_path)
    assert option(argv, "--sample_every_n_steps") == "250"
    assert option(argv, "--validate_every_n_steps") == "250"
    assert plan.phases[0].validate_every_n_steps == 250
    assert json.loads(plan.sample_prompts_text) == [
        {
            "prompt": "ohwx person, portrait",
            "width": 512,
            "height": 512,
            "seed": 42,
            "sample_steps": 20,
            "guidance_scale": 3.5,
        }
    ]
    assert "validation_split = 0.1" in plan.dataset_toml


def test_tier_choice_is_reported_and_bf16_is_a_numerics_change(tmp_path):
    request = make_request(tmp_path, vram_tier="auto", device=DeviceReport(free_vram_gib=79.2))
    plan = build_plan(request, make_engine(tmp_path))
    argv = plan.phases[0].argv
    assert plan.tier.name == "80gb"
    assert "79.2 GiB" in plan.tier.reason and "0.55 s/step" in plan.tier.reason
    assert plan.tier.expected_sec_per_step == pytest.approx(0.55)
    assert "--fp8_base" not in argv and "--gradient_checkpointing" not in argv
    assert any(w.startswith("numerics: base model weights kept in bf16") for w in plan.warnings)
    assert plan.metadata[METADATA_PREFIX + "base_precision"] == "bf16"
    assert "bf16 instead of fp8" in plan.metadata[METADATA_PREFIX + "numerics_changes"]
    assert plan.metadata[METADATA_PREFIX + "vram_tier"] == "80gb"


def test_explicit_tier_overrides_auto(tmp_path):
    request = make_request(tmp_path, vram_tier="12gb", device=DeviceReport(free_vram_gib=79.2))
    plan = build_plan(request, make_engine(tmp_path))
    assert plan.tier.name == "12gb"
    assert option(plan.phases[0].argv, "--blocks_to_swap") == "16"
    assert plan.metadata[METADATA_PREFIX + "base_precision"] == "fp8"
    assert not any(w.startswith("numerics:") for w in plan.warnings)


def test_smallest_tiers_warn_about_a_t5_that_is_not_fp8(tmp_path):
    request = make_request(tmp_path, vram_tier="10gb")
    save_file({"shared.weight": np.zeros((2, 2), np.float16)}, str(request.models.t5xxl))
    plan = build_plan(request, make_engine(tmp_path))
    assert option(plan.phases[0].argv, "--blocks_to_swap") == "22"
    assert any("fp8 T5-XXL" in w and "t5xxl.safetensors is not fp8" in w for w in plan.warnings)
    on_12gb = build_plan(dataclasses.replace(request, vram_tier="12gb"), make_engine(tmp_path))
    assert not any("fp8 T5-XXL" in w for w in on_12gb.warnings)


def test_unknown_vram_falls_back_to_design_settings_with_warning(tmp_path):
    plan = build_plan(make_request(tmp_path, vram_tier="auto"), make_engine(tmp_path))
    assert plan.tier.name == "24gb"
    assert any(w.startswith("GPU memory unknown") for w in plan.warnings)


def test_metadata_names_profile_token_dataset_and_engine(tmp_path):
    plan = build_plan(make_request(tmp_path), make_engine(tmp_path))
    meta = plan.metadata
    assert all(key.startswith(METADATA_PREFIX) and isinstance(value, str) for key, value in meta.items())
    assert meta[METADATA_PREFIX + "profile"] == "fast"
    assert meta[METADATA_PREFIX + "trigger_token"] == "ohwx"
    assert meta[METADATA_PREFIX + "engine_commit"] == ENGINE_COMMIT
    assert meta[METADATA_PREFIX + "dataset_hash"] == plan.staging.dataset_hash
    assert len(plan.staging.dataset_hash) == 64
    assert meta[METADATA_PREFIX + "text_encoder"] == "frozen"


def test_plan_writes_nothing(tmp_path):
    build_plan(make_request(tmp_path), make_engine(tmp_path))
    assert not (tmp_path / "run").exists()


def test_engine_at_wrong_commit_is_refused(tmp_path):
    request = make_request(tmp_path, allow_unpinned_engine=False)
    with pytest.raises(WrongEngineCommitError) as caught:
        build_plan(request, make_engine(tmp_path, commit="0" * 40))
    assert ENGINE_COMMIT in str(caught.value) and "What to do" in str(caught.value)


def test_engine_claiming_the_pin_with_other_files_is_refused(tmp_path):
    engine = make_engine(tmp_path)
    (engine.source_dir / "flux_train_network.py").write_text("# edited\n")
    with pytest.raises(WrongEngineCommitError, match="differ"):
        build_plan(make_request(tmp_path, allow_unpinned_engine=False), engine)


def test_to_dict_is_json(tmp_path):
    plan = build_plan(make_request(tmp_path, save_every_n_steps=10), make_engine(tmp_path))
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["phases"][0]["argv"] == list(plan.phases[0].argv)
    assert data["staging"]["subject_dir"].endswith("subject")


def test_unknown_profile(tmp_path):
    with pytest.raises(BridgeError, match="fast, final"):
        build_plan(make_request(tmp_path, profile="turbo"), make_engine(tmp_path))
