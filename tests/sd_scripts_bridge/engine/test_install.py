"""install: source, venv, packages and engine.json, with the commands recorded instead of run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from sd_scripts_bridge.engine.install import (
    InstallError,
    InstallOptions,
    copy_tokenizers,
    engine_requirements,
    install_engine,
)
from sd_scripts_bridge.engine.pins import ENGINE_COMMIT, ENGINE_REPOSITORY_URL

FAKE_COMMIT = "f" * 40


def fake_checkout(folder: Path, head: str | None = FAKE_COMMIT) -> Path:
    folder.mkdir(parents=True)
    (folder / "flux_train_network.py").write_text("# stand-in\n")
    (folder / "requirements.txt").write_text("accelerate==1.6.0\n# comment\ntransformers==4.54.1\n-e .\n")
    if head:
        (folder / ".git").mkdir()
        (folder / ".git" / "HEAD").write_text(head + "\n")
    return folder


class RecordingRunner:
    """Records argv lists; makes the venv's python (a link to this interpreter) like `venv` would."""

    def __init__(self):
        self.commands: list[list[str]] = []

    def __call__(self, argv, log_file):
        assert isinstance(argv, list) and all(isinstance(item, str) for item in argv)
        self.commands.append(argv)
        if argv[1:3] == ["-m", "venv"]:
            python = Path(argv[3]) / "bin" / "python"
            python.parent.mkdir(parents=True)
            python.symlink_to(sys.executable)
        if argv[:2] == ["git", "init"]:
            fake_checkout(Path(argv[-1]), head=None)
        if argv[-2:] == ["--detach", "FETCH_HEAD"]:
            (Path(argv[2]) / ".git").mkdir(exist_ok=True)
            (Path(argv[2]) / ".git" / "HEAD").write_text(FAKE_COMMIT + "\n")


def options(tmp_path, **changes) -> InstallOptions:
    values = dict(
        engine_root=tmp_path / "engine",
        python="python3.11",
        commit=FAKE_COMMIT,
        torch_spec=("torch==2.14.1", "torchvision==0.29.1"),
    )
    values.update(changes)
    return InstallOptions(**values)


def test_install_from_local_checkout(tmp_path):
    source = fake_checkout(tmp_path / "src")
    runner = RecordingRunner()
    engine = install_engine(options(tmp_path, from_path=source), run=runner, say=lambda _: None)
    root = (tmp_path / "engine").resolve()
    assert engine.root == root and engine.commit == FAKE_COMMIT
    assert (root / "sd-scripts" / "flux_train_network.py").is_file()
    python = str(root / "venv" / "bin" / "python")
    venv, torch, requirements, torchvision, itself = runner.commands
    assert venv == ["python3.11", "-m", "venv", str(root / "venv")]
    assert torch[:4] == [python, "-m", "pip", "install"] and torch[-2:] == [
        "torch==2.14.1",
        "torchvision==0.29.1",
    ]
    assert requirements[-4:] == [
        "-r",
        str(root / "requirements.engine.txt"),
        "-c",
        str(root / "torch-constraints.txt"),
    ]
    assert "torchvision" in torchvision and "-c" in torchvision
    assert itself[-3:] == ["--no-deps", "-e", str(root / "sd-scripts")]
    assert "-e ." not in (root / "requirements.engine.txt").read_text()
    assert (root / "torch-constraints.txt").read_text() == "torch==2.14.1\ntorchvision==0.29.1\n"
    info = json.loads((root / "engine.json").read_text())
    assert info["commit"] == FAKE_COMMIT and info["commit_source"] == "git"
    assert info["python"] == f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
    assert "installed_at" in info and info["install_seconds"] >= 0
    assert source.joinpath(".git", "HEAD").read_text() == FAKE_COMMIT + "\n"  # the source is not touched


def test_install_by_cloning_the_pinned_commit(tmp_path):
    runner = RecordingRunner()
    install_engine(options(tmp_path), run=runner, say=lambda _: None)
    partial = str((tmp_path / "engine" / "sd-scripts.partial").resolve())
    git = [command for command in runner.commands if command[0] == "git"]
    assert git == [
        ["git", "init", "--quiet", partial],
        ["git", "-C", partial, "remote", "add", "origin", ENGINE_REPOSITORY_URL],
        ["git", "-C", partial, "fetch", "--depth", "1", "origin", FAKE_COMMIT],
        ["git", "-C", partial, "checkout", "--quiet", "--detach", "FETCH_HEAD"],
    ]


def test_second_install_reuses_the_source_and_venv(tmp_path):
    source = fake_checkout(tmp_path / "src")
    install_engine(options(tmp_path, from_path=source), run=RecordingRunner(), say=lambda _: None)
    again = RecordingRunner()
    install_engine(options(tmp_path, from_path=source), run=again, say=lambda _: None)
    assert not any(command[1:3] == ["-m", "venv"] for command in again.commands)


def test_copy_without_git_needs_assume_commit(tmp_path):
    source = fake_checkout(tmp_path / "src", head=None)
    with pytest.raises(InstallError, match="unknown") as caught:
        install_engine(options(tmp_path, from_path=source), run=RecordingRunner(), say=lambda _: None)
    assert "--assume-commit" in caught.value.fix
    engine = install_engine(
        options(tmp_path, from_path=source, assume_commit=FAKE_COMMIT),
        run=RecordingRunner(),
        say=lambda _: None,
    )
    assert engine.commit == FAKE_COMMIT
    assert "assumed" in json.loads((engine.root / "engine.json").read_text())["commit_source"]


def test_assumed_pinned_commit_is_checked_against_the_key_files(tmp_path):
    source = fake_checkout(tmp_path / "src", head=None)
    with pytest.raises(InstallError, match="differ from the pinned commit"):
        install_engine(
            options(tmp_path, from_path=source, assume_commit=ENGINE_COMMIT, commit=ENGINE_COMMIT),
            run=RecordingRunner(),
            say=lambda _: None,
        )


def test_other_commit_needs_allow_unpinned(tmp_path):
    source = fake_checkout(tmp_path / "src", head="1" * 40)
    with pytest.raises(InstallError, match="--allow-unpinned"):
        install_engine(options(tmp_path, from_path=source), run=RecordingRunner(), say=lambda _: None)
    engine = install_engine(
        options(tmp_path, from_path=source, allow_unpinned=True), run=RecordingRunner(), say=lambda _: None
    )
    assert engine.commit == "1" * 40


def test_not_a_checkout(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InstallError, match="not an sd-scripts checkout"):
        install_engine(
            options(tmp_path, from_path=tmp_path / "empty"), run=RecordingRunner(), say=lambda _: None
        )


def test_tokenizers_are_copied_into_the_engine_layout(tmp_path):
    given = tmp_path / "tok"
    (given / "openai_clip-vit-large-patch14").mkdir(parents=True)
    (given / "openai_clip-vit-large-patch14" / "vocab.json").write_text("{}")
    (given / "openai_clip-vit-large-patch14" / "merges.txt").write_text("")
    (given / "google_t5-v1_1-xxl").mkdir()
    (given / "google_t5-v1_1-xxl" / "tokenizer.json").write_text("{}")
    source = fake_checkout(tmp_path / "src")
    engine = install_engine(
        options(tmp_path, from_path=source, tokenizers=given), run=RecordingRunner(), say=lambda _: None
    )
    assert (engine.root / "tokenizers" / "google_t5-v1_1-xxl" / "tokenizer.json").is_file()
    info = json.loads((engine.root / "engine.json").read_text())
    assert info["tokenizer_cache_dir"] == str(engine.root / "tokenizers")


def test_incomplete_tokenizers_are_refused(tmp_path):
    (tmp_path / "tok" / "openai_clip-vit-large-patch14").mkdir(parents=True)
    with pytest.raises(InstallError, match="openai_clip-vit-large-patch14"):
        copy_tokenizers(tmp_path / "tok", tmp_path / "out")


def test_engine_requirements_drop_the_editable_line(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("a==1\n-e .\nb\n")
    assert engine_requirements(requirements) == "a==1\nb\n"


def test_failed_step_names_the_log(tmp_path):
    from sd_scripts_bridge.engine.install import run_logged

    log = tmp_path / "install.log"
    with pytest.raises(InstallError) as caught:
        run_logged([sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"], log)
    assert caught.value.path == log and "exit code 3" in caught.value.what and "boom" in caught.value.fix
