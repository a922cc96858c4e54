"""The demo driver's pieces: engine lookup/installation command, workflow settings, step report."""

from __future__ import annotations

import sys

import pytest

from demo import engine_setup
from demo.__main__ import DemoReport
from demo.engine_setup import EngineSetupError, ensure_engine, install_command
from demo.fast_workflow import model_settings
from devkit.tiny_flux import TinyFluxFiles
from sd_scripts_bridge.engine.pins import ENGINE_COMMIT


def _fake_engine(root):
    (root / "sd-scripts").mkdir(parents=True)
    (root / "sd-scripts" / "flux_train_network.py").write_text("# stand-in\n")
    (root / "venv" / "bin").mkdir(parents=True)
    (root / "venv" / "bin" / "python").symlink_to(sys.executable)
    return root


def test_install_command_from_an_exported_checkout_assumes_the_pinned_commit(tmp_path):
    source = tmp_path / "sd-scripts"
    source.mkdir()
    argv = install_command(tmp_path / "engine", tmp_path / "tok", source)
    assert argv[1:4] == ["-m", "sd_scripts_bridge", "install"]
    assert argv[argv.index("--from") + 1] == str(source)
    assert argv[argv.index("--assume-commit") + 1] == ENGINE_COMMIT
    (source / ".git").mkdir()
    assert "--assume-commit" not in install_command(tmp_path / "engine", tmp_path / "tok", source)
    assert "--from" not in install_command(tmp_path / "engine", tmp_path / "tok", None)


def test_installed_engine_is_used_and_gets_offline_tokenizers(tmp_path, monkeypatch):
    from devkit.tokenizers import CLIP_FOLDER, T5_FOLDER, ensure_tokenizers

    root = _fake_engine(tmp_path / "engine")
    monkeypatch.setenv("IDENTITY_LORA_ENGINE", str(root))
    installs = []
    monkeypatch.setattr(engine_setup, "_install", lambda *args: installs.append(args))
    engine = ensure_engine(ensure_tokenizers(tmp_path / "tok"), say=lambda _: None)
    assert engine.root == root.resolve()
    assert installs == []
    assert (root / "tokenizers" / CLIP_FOLDER / "vocab.json").is_file()
    assert (root / "tokenizers" / T5_FOLDER / "tokenizer.json").is_file()


def test_a_source_that_is_not_sd_scripts_is_refused_before_installing(tmp_path, monkeypatch):
    monkeypatch.setenv("IDENTITY_LORA_ENGINE", str(tmp_path / "not-installed"))
    monkeypatch.setenv("IDENTITY_LORA_ENGINE_SRC", str(tmp_path))
    with pytest.raises(EngineSetupError, match=r"IDENTITY_LORA_ENGINE_SRC=.* is not an sd-scripts checkout"):
        ensure_engine(tmp_path / "tok", say=lambda _: None)


def test_model_inputs_of_the_workflow_get_the_random_files(tmp_path):
    files = TinyFluxFiles(
        root=tmp_path,
        dit=tmp_path / "dit.safetensors",
        ae=tmp_path / "ae.safetensors",
        clip_l=tmp_path / "clip.safetensors",
        t5xxl=tmp_path / "t5.safetensors",
    )
    workflow = {
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "flux1-dev.safetensors"}},
        "2": {
            "class_type": "DualCLIPLoader",
            "inputs": {"clip_name1": "clip_l.safetensors", "clip_name2": "t5xxl_fp16.safetensors"},
        },
        "3": {"class_type": "VAELoader", "inputs": {"vae_name": "ae.safetensors"}},
        "4": {
            "class_type": "TrainIdentityLoRA",
            "inputs": {"t5xxl": "t5xxl_fp16.safetensors", "model": ["1", 0], "output_name": "x.safetensors"},
        },
    }
    assert sorted(model_settings(workflow, files)) == [
        "1.unet_name=dit.safetensors",
        "2.clip_name1=clip.safetensors",
        "2.clip_name2=t5.safetensors",
        "3.vae_name=ae.safetensors",
        "4.t5xxl=t5.safetensors",
    ]


def test_report_records_a_failed_step_and_keeps_going(capsys):
    report = DemoReport()
    assert report.step("works", lambda: 42) == 42

    def fails():
        raise RuntimeError("no engine here; set IDENTITY_LORA_ENGINE")

    assert report.step("engine", fails) is None
    report.skip("host", "the engine")
    report.print_summary()
    out = capsys.readouterr().out
    assert "done:    works" in out
    assert "MISSING: engine: no engine here; set IDENTITY_LORA_ENGINE" in out
    assert "MISSING: host: needs the engine" in out


def test_shipped_fast_workflow_gets_demo_files_and_cpu_settings(tmp_path):
    import json

    from demo.fast_workflow import FAST_WORKFLOW, queue_command
    from devkit.demo_dataset import DemoDataset

    names = {p: tmp_path / f"random_{p}.safetensors" for p in ("dit", "ae", "clip_l", "t5xxl")}
    files = TinyFluxFiles(root=tmp_path, **names)
    dataset = DemoDataset(tmp_path, tmp_path / "subject", tmp_path / "reg", "ohwx", "woman", (), ())
    argv = queue_command("http://127.0.0.1:1", dataset, files, 2, tmp_path / "dl")
    workflow = json.loads(FAST_WORKFLOW.read_text())
    sets = dict(argv[i + 1].split("=", 1) for i, a in enumerate(argv) if a == "--set")
    assert sets["dataset"] == str(tmp_path / "subject") and sets["steps"] == "2"
    by_class = {node["class_type"]: node_id for node_id, node in workflow.items()}
    train = by_class["TrainIdentityLoRA"]
    for loader, input_name in (
        ("UNETLoader", "unet_name"),
        ("DualCLIPLoader", "clip_name2"),
        ("VAELoader", "vae_name"),
    ):
        # the loaders take their file names from the training node, so only the training node is set
        assert f"{by_class[loader]}.{input_name}" not in sets
        assert workflow[by_class[loader]]["inputs"][input_name][0] == train
    assert {sets[f"{train}.{part}"] for part in ("diffusion_model", "clip_l", "t5xxl", "ae")} == {
        p.name for p in names.values()
    }
    assert sets[f"{train}.resolution"] == "64"
    assert sets[f"{by_class['DatasetCheck']}.regularization_folder"] == str(tmp_path / "reg")
    assert sets[f"{by_class['StrengthSweep']}.width"] == "64"
