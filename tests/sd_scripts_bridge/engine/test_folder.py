"""Finding the engine folder and telling honestly which sd-scripts code it holds."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from sd_scripts_bridge.engine.folder import (
    ENGINE_ENV_VAR,
    checkout_commit,
    default_engine_root,
    engine_root_from,
    fingerprint_mismatches,
    git_blob_id,
    locate_engine,
    require_pinned,
)
from sd_scripts_bridge.engine.pins import ENGINE_COMMIT, FINGERPRINT
from sd_scripts_bridge.errors import EngineNotInstalledError, WrongEngineCommitError
from sd_scripts_bridge.model import Engine


def fake_engine(root, commit=ENGINE_COMMIT):
    (root / "sd-scripts").mkdir(parents=True)
    (root / "sd-scripts" / "flux_train_network.py").write_text("# stand-in\n")
    python = root / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    (root / "engine.json").write_text(json.dumps({"commit": commit}))
    return root


def test_git_blob_id_is_gits(tmp_path):
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello\n")
    assert git_blob_id(path) == "ce013625030ba8dba906f756967f9e9ca394464a"  # git hash-object
    path.write_bytes(b"hello\r\n")  # a Windows autocrlf checkout of the same blob
    assert git_blob_id(path) == "ce013625030ba8dba906f756967f9e9ca394464a"
    if shutil.which("git"):
        path.write_bytes(b"print('x')\n" * 50)
        git = subprocess.run(["git", "hash-object", str(path)], capture_output=True, text=True, check=True)
        assert git_blob_id(path) == git.stdout.strip()


def test_fingerprint_lists_changed_and_missing_files(tmp_path):
    (tmp_path / "a.py").write_bytes(b"hello\n")
    fingerprint = {"a.py": "ce013625030ba8dba906f756967f9e9ca394464a", "lib/b.py": "0" * 40}
    assert fingerprint_mismatches(tmp_path, fingerprint) == ["lib/b.py"]
    assert "flux_train_network.py" in FINGERPRINT


def test_checkout_commit_from_git_files(tmp_path):
    git = tmp_path / ".git"
    git.mkdir()
    (git / "HEAD").write_text(ENGINE_COMMIT + "\n")  # detached (how install checks out)
    assert checkout_commit(tmp_path) == ENGINE_COMMIT
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "packed-refs").write_text(f"# pack-refs\n{'a' * 40} refs/heads/main\n")
    assert checkout_commit(tmp_path) == "a" * 40
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "refs" / "heads" / "main").write_text("b" * 40 + "\n")
    assert checkout_commit(tmp_path) == "b" * 40
    assert checkout_commit(tmp_path / "nothing") is None


def test_engine_root_order(tmp_path):
    env = {ENGINE_ENV_VAR: str(tmp_path / "from_env")}
    assert engine_root_from(tmp_path / "explicit", env) == tmp_path / "explicit"
    assert engine_root_from(None, env) == tmp_path / "from_env"
    assert engine_root_from(None, {}) == default_engine_root()
    assert default_engine_root().name == "engine"


def test_locate_engine(tmp_path):
    fake_engine(tmp_path / "engine")
    engine = locate_engine(None, {ENGINE_ENV_VAR: str(tmp_path / "engine")})
    assert engine.commit == ENGINE_COMMIT
    assert engine.train_script == (tmp_path / "engine" / "sd-scripts" / "flux_train_network.py").resolve()


def test_missing_engine_says_how_to_install(tmp_path):
    with pytest.raises(EngineNotInstalledError) as caught:
        locate_engine(tmp_path / "none", {})
    assert "sd_scripts_bridge install" in caught.value.fix
    fake_engine(tmp_path / "half")
    (tmp_path / "half" / "venv" / "bin" / "python").unlink()
    with pytest.raises(EngineNotInstalledError, match="virtual environment"):
        locate_engine(tmp_path / "half", {})


def test_require_pinned(tmp_path):
    root = fake_engine(tmp_path / "engine", commit="c" * 40)
    engine = locate_engine(root, {})
    with pytest.raises(WrongEngineCommitError, match="c" * 40):
        require_pinned(engine)
    require_pinned(engine, allow_unpinned=True)
    claimed = Engine(root, root / "sd-scripts", root / "venv/bin/python", ENGINE_COMMIT)
    with pytest.raises(WrongEngineCommitError, match="differ from it"):
        require_pinned(claimed)
