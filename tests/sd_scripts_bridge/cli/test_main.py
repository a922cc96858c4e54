"""CLI: ``plan --json`` output shape, errors as messages with exit code 2."""

from __future__ import annotations

import json
import sys

import pytest
from PIL import Image

from sd_scripts_bridge.cli.main import main


@pytest.fixture
def plan_args(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for index in range(3):
        Image.new("RGB", (16, 16), (index, 0, 0)).save(data / f"p{index}.png")
        (data / f"p{index}.txt").write_text(f"ohwx person, photo {index}\n")
    models = tmp_path / "models"
    models.mkdir()
    for name in ("flux", "clip", "t5", "ae"):
        (models / f"{name}.safetensors").write_bytes(b"w")
    engine = tmp_path / "engine"
    (engine / "sd-scripts").mkdir(parents=True)
    (engine / "venv" / "bin").mkdir(parents=True)
    (engine / "venv" / "bin" / "python").symlink_to(sys.executable)
    (engine / "sd-scripts" / "flux_train_network.py").write_text("")
    return [
        "plan", "--images", str(data), "--trigger-token", "ohwx", "--output-name", "me",
        "--run-dir", str(tmp_path / "run"), "--flux", str(models / "flux.safetensors"),
        "--clip-l", str(models / "clip.safetensors"), "--t5xxl", str(models / "t5.safetensors"),
        "--ae", str(models / "ae.safetensors"), "--engine", str(engine), "--allow-unpinned",
    ]  # fmt: skip


def test_plan_json_shape(plan_args, capsys, tmp_path):
    assert main([*plan_args, "--json", "--tier", "16gb", "--set", "max_train_steps=8"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data["argv"], list) and all(isinstance(item, str) for item in data["argv"])
    assert data["argv"] == data["phases"][0]["argv"]
    assert "[[datasets.subsets]]" in data["dataset_toml"]
    assert data["run_dir"] == str((tmp_path / "run").resolve())
    assert isinstance(data["warnings"], list) and data["warnings"]
    assert data["tier"]["name"] == "16gb" and data["tier"]["expected_sec_per_step"] == pytest.approx(1.22)
    phase = data["phases"][0]
    assert phase["max_train_steps"] == 8 and phase["output_file"].endswith("me.safetensors")
    assert data["staging"]["subject"][0]["caption"] == "ohwx person, photo 0"
    assert not (tmp_path / "run").exists()


def test_plan_text_output(plan_args, capsys):
    assert main([*plan_args, "--cpu"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# phase train: 1500 steps") and "--cpu" in out


def test_plan_two_phase_from_cli(plan_args, capsys, tmp_path):
    reg = tmp_path / "reg"
    reg.mkdir()
    Image.new("RGB", (16, 16)).save(reg / "r.png")
    extra = ["--reg", str(reg), "--te-policy", "two_phase", "--token-not-unique", "--tier", "24gb", "--json"]
    code = main([*plan_args, *extra])
    err = capsys.readouterr().err
    assert code == 2 and "only 3 images" in err and "te_policy=frozen" in err


def test_bad_input_is_a_message_not_a_traceback(plan_args, capsys):
    code = main([*plan_args, "--output-name", "../../x"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: The output name") and "What to do:" in err
    assert "Traceback" not in err


def test_bad_override_syntax(plan_args, capsys):
    assert main([*plan_args, "--set", "max_train_steps"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err
