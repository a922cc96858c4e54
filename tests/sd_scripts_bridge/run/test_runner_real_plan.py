"""Plans made by the real planner (build_plan), run against the stand-in engine (a test double of
flux_train_network.py, see stand_in_engine/): the argv, staging and phases the planner writes are
what the runner launches."""

import json
from pathlib import Path

from PIL import Image

from devkit.stand_in_engine import stand_in
from sd_scripts_bridge.lora_file import check_lora, differing_tensors, read_metadata
from sd_scripts_bridge.model import DatasetImage, ModelFiles, PlanRequest
from sd_scripts_bridge.plan.build import build_plan
from sd_scripts_bridge.run.loss_log import read_loss_csv
from sd_scripts_bridge.run.runner import run_training


def images(folder: Path, count: int, caption: str | None) -> tuple[DatasetImage, ...]:
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for index in range(count):
        path = folder / f"img_{index:02d}.png"
        Image.new("RGB", (64, 64), (index * 9 % 255, 80, 120)).save(path)
        made.append(DatasetImage(path, caption))
    return tuple(made)


def request(tmp_path: Path, **changes) -> PlanRequest:
    models = tmp_path / "models"
    base = stand_in.write_base_model(models / "flux_tiny.safetensors")
    for name in ("clip_l.safetensors", "t5xxl.safetensors", "ae.safetensors"):
        (models / name).write_bytes(b"stand-in model file")
    values = dict(
        profile="fast",
        images=images(tmp_path / "photos", 4, "ohwx person, smiling"),
        models=ModelFiles(
            base, models / "clip_l.safetensors", models / "t5xxl.safetensors", models / "ae.safetensors"
        ),
        output_name="ohwx_fast",
        run_dir=tmp_path / "run",
        trigger_token="ohwx",
        overrides={"max_train_steps": 4, "network_dim": 4, "network_alpha": 4.0, "lr_warmup_steps": 1},
        save_every_n_steps=2,
        publish_dir=tmp_path / "loras",
        allow_unpinned_engine=True,  # the stand-in's files are not the pinned engine's
        cpu=True,
    )
    values.update(changes)
    return PlanRequest(**values)


def test_planned_fast_run_trains_stages_and_publishes(tmp_path, monkeypatch):
    monkeypatch.setenv("STAND_IN_SEC_PER_STEP", "0.02")
    engine = stand_in.build_engine(tmp_path / "engine")
    plan = build_plan(request(tmp_path), engine)
    events = []
    result = run_training(plan, engine, on_event=events.append)

    assert result.lora_path == tmp_path / "loras" / "ohwx_fast.safetensors" and result.steps == 4
    check_lora(result.lora_path)
    metadata = read_metadata(result.lora_path)
    assert metadata["identity_lora_profile"] == "fast" and metadata["ss_network_dim"] == "4"
    assert metadata["identity_lora_dataset_hash"] == plan.metadata["identity_lora_dataset_hash"]
    assert [e.step for e in events if e.kind == "step" and e.loss is not None][-1] == 4
    assert json.loads((plan.run_dir / "command.json").read_text())[0]["argv"] == list(plan.phases[0].argv)
    assert plan.dataset_toml_path.read_text() == plan.dataset_toml
    if plan.staging is not None:  # the engine trained on the staged copy, never the user's folder
        assert plan.staging.subject_dir.is_dir()
    assert sorted(p.name for p in (tmp_path / "photos").iterdir()) == [f"img_{i:02d}.png" for i in range(4)]
    assert plan.phases[0].engine_log is None or plan.phases[0].engine_log.is_file()


def test_planned_two_phase_run_keeps_the_phase_one_text_encoder(tmp_path, monkeypatch):
    monkeypatch.setenv("STAND_IN_SEC_PER_STEP", "0.02")
    engine = stand_in.build_engine(tmp_path / "engine")
    two_phase = request(
        tmp_path,
        images=images(tmp_path / "photos", 15, "ohwx person"),
        regularization=images(tmp_path / "reg", 2, None),
        te_policy="two_phase",
        token_is_unique=False,
    )
    plan = build_plan(two_phase, engine)
    assert [phase.name for phase in plan.phases] == ["te_phase1", "te_phase2"]
    result = run_training(plan, engine)
    assert differing_tensors(plan.phases[0].output_file, result.lora_path, "lora_te1_") == []
    rows = read_loss_csv(result.loss_csv)
    assert [int(r["step"]) for r in rows] == list(range(1, plan.total_steps + 1))
    assert {r["phase"] for r in rows} == {"te_phase1", "te_phase2"}
