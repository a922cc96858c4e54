"""A real ComfyUI server for tests: started from the cached host install, the pack linked in.

The host is ComfyUI 0.3.75 at ``$IDENTITY_LORA_CACHE/comfyui`` run with the cache venv's python
(``scripts/setup_test_env.sh`` builds both), or the ComfyUI at ``$COMFYUI_DIR`` run with
``$COMFYUI_PYTHON`` (default: the cache venv's python, else this interpreter). Each server gets
its own base directory (models/, input/, output/, temp/, user/, custom_nodes/) in a temp folder,
loads only this pack (``--disable-all-custom-nodes --whitelist-custom-nodes <name>``) and is
stopped for its whole process group: a stop request, then the kill (``platform_compat.py``).
The pack folder in ``custom_nodes`` is always a link to THIS checkout: a link to another clone,
or one left dangling by a deleted clone, is replaced (``link_pack``).

Tests talk to it only over HTTP and the websocket, through ``workflows.api_client.ComfyClient``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sd_scripts_bridge.engine import platform_compat
from workflows.api_client import ClientError, ComfyClient, PromptRun

from .cache import cache_root

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PACK_NAME = "flux-identity-lora"
PROBE_NODES_FILE = Path(__file__).resolve().parent / "probe_nodes.py"
PROBE_NODES_NAME = "harness_probe_nodes.py"
STARTUP_TIMEOUT_S = 120.0
# The newest ComfyUI frontend the tests also run (scripts/setup_test_env.sh installs it beside the
# host's own, pinned there as frontend_version); a host serves it with newest_frontend_args().
NEWEST_FRONTEND = "1.58.1"
STOP_GRACE_S = 15.0  # the server exits on SIGTERM in 1-4 s; this bounds a hung one


def comfyui_dir() -> Path:
    """The ComfyUI source folder the harness runs (``COMFYUI_DIR`` or the cached 0.3.75)."""
    return Path(os.environ.get("COMFYUI_DIR") or cache_root() / "comfyui")


def host_python() -> str:
    """The interpreter that runs the host: ``COMFYUI_PYTHON``, the cache venv's, or this one."""
    explicit = os.environ.get("COMFYUI_PYTHON")
    if explicit:
        return explicit
    venv_python = platform_compat.venv_python(cache_root() / "venv")
    return str(venv_python) if venv_python.exists() else sys.executable


def newest_frontend_root() -> Path:
    """The static files of comfyui-frontend-package ``NEWEST_FRONTEND`` in the cache."""
    root = cache_root() / f"frontend-{NEWEST_FRONTEND}" / "comfyui_frontend_package" / "static"
    if not (root / "index.html").is_file():
        raise HostStartError(
            f"no comfyui-frontend-package {NEWEST_FRONTEND} at {root}: run `make setup` "
            "(scripts/setup_test_env.sh installs it)"
        )
    return root


def newest_frontend_args() -> tuple[str, ...]:
    """Host arguments that serve the newest frontend instead of the host's own."""
    return ("--front-end-root", str(newest_frontend_root()))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HostStartError(RuntimeError):
    """The server did not come up; the message carries the command and the log tail."""


def link_pack(link: Path, target: Path = REPO_ROOT) -> Path:
    """Make ``link`` point at ``target`` (this checkout), whatever link was there: another clone's,
    or a dangling one left by a deleted clone. A real folder there is not ours to delete: refused."""
    target = target.resolve()
    if link.is_symlink():
        if link.resolve() == target:
            return link
        link.unlink()
    elif link.exists():
        raise HostStartError(
            f"{link} is a real folder or file, not a link to this checkout ({target}): the host "
            "would load that copy. Move it away (or use another base folder), then start again"
        )
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target, target_is_directory=target.is_dir())
    return link


class Host:
    """One running ComfyUI server with its own base directory."""

    def __init__(
        self,
        pack_name: str = DEFAULT_PACK_NAME,
        env: Mapping[str, str] | None = None,
        extra_args: tuple[str, ...] = (),
        base_dir: Path | None = None,
        probe_nodes: bool = False,
        pack_source: Path = REPO_ROOT,
    ) -> None:
        self.pack_name = pack_name
        self.pack_source = Path(pack_source)  # the folder the pack link points at: this checkout
        self.probe_nodes = probe_nodes
        self.comfyui_dir = comfyui_dir()
        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix="comfy-host-"))
        self._owns_base_dir = base_dir is None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.base_dir / "comfyui.log"
        self.extra_env = dict(env or {})
        self.extra_args = tuple(extra_args)
        self.client = ComfyClient(self.url, timeout=60)
        self._process: subprocess.Popen[bytes] | None = None

    # -- folders -----------------------------------------------------------------------
    @property
    def models_dir(self) -> Path:
        return self.base_dir / "models"

    @property
    def input_dir(self) -> Path:
        return self.base_dir / "input"

    @property
    def output_dir(self) -> Path:
        return self.base_dir / "output"

    @property
    def temp_dir(self) -> Path:
        return self.base_dir / "temp"

    @property
    def pack_dir(self) -> Path:
        return self.base_dir / "custom_nodes" / self.pack_name

    # -- life cycle --------------------------------------------------------------------
    def command(self) -> list[str]:
        return [
            host_python(),
            "main.py",
            "--cpu",
            "--listen",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--base-directory",
            str(self.base_dir),
            "--disable-auto-launch",
            "--disable-api-nodes",
            "--database-url",
            "sqlite:///:memory:",
            "--disable-all-custom-nodes",
            "--whitelist-custom-nodes",
            self.pack_name,
            *([PROBE_NODES_NAME] if self.probe_nodes else []),
            *self.extra_args,
        ]

    def start(self, timeout: float = STARTUP_TIMEOUT_S) -> Host:
        if not (self.comfyui_dir / "main.py").exists():
            raise HostStartError(
                f"no ComfyUI at {self.comfyui_dir}: run `make setup` (scripts/setup_test_env.sh) "
                "or set COMFYUI_DIR to an existing ComfyUI folder"
            )
        for folder in (self.models_dir, self.input_dir, self.output_dir, self.base_dir / "custom_nodes"):
            folder.mkdir(parents=True, exist_ok=True)
        link_pack(self.pack_dir, self.pack_source)
        probe_link = self.base_dir / "custom_nodes" / PROBE_NODES_NAME
        if self.probe_nodes:
            link_pack(probe_link, PROBE_NODES_FILE)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the repo root would shadow `nodes`
        env.update({"PYTHONUNBUFFERED": "1", **self.extra_env})
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                self.command(),
                cwd=self.comfyui_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                **platform_compat.new_group_options(),
            )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        probe = ComfyClient(self.url, timeout=2)
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise HostStartError(
                    f"ComfyUI exited with code {self._process.returncode} while starting\n"
                    f"command: {' '.join(self.command())}\nlog tail:\n{self.log_tail()}"
                )
            try:
                probe.system_stats()
                return
            except ClientError:
                time.sleep(0.25)
        self.stop()
        raise HostStartError(
            f"ComfyUI did not answer /system_stats on {self.url} within {timeout:.0f} s\n"
            f"command: {' '.join(self.command())}\nlog tail:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        platform_compat.request_stop(process.pid)
        try:
            process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            platform_compat.kill(process.pid)
            process.wait()

    def cleanup(self) -> None:
        """Stop the server and delete its base directory (keeps it when KEEP_COMFY_HOST is set)."""
        self.stop()
        if self._owns_base_dir and not os.environ.get("KEEP_COMFY_HOST"):
            shutil.rmtree(self.base_dir, ignore_errors=True)

    @property
    def pid(self) -> int | None:
        """The server's process id (ComfyUI's main.py itself), None when it is not running."""
        return self._process.pid if self.running else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- reading -----------------------------------------------------------------------
    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def object_info(self, node_type: str | None = None) -> dict[str, Any]:
        return self.client.object_info(node_type)

    def get_json(self, path: str) -> Any:
        return self.client.get_json(path)

    # -- prompts -----------------------------------------------------------------------
    def post_prompt(
        self, prompt: dict[str, Any], extra_data: dict[str, Any] | None = None
    ) -> tuple[int, Any]:
        return self.client.post_prompt(prompt, extra_data)

    def run_prompt(
        self, prompt: dict[str, Any], timeout: float = 300.0, extra_data: dict[str, Any] | None = None
    ) -> PromptRun:
        """Queue ``prompt`` and wait for its end; raises PromptRejected on a validation refusal."""
        client = ComfyClient(self.url, timeout=60)
        return client.run(prompt, timeout=timeout, extra_data=extra_data)

    def interrupt(self, prompt_id: str | None = None) -> int:
        return self.client.interrupt(prompt_id)

    def __repr__(self) -> str:
        return f"Host({self.url}, pack={self.pack_name!r}, base={self.base_dir})"
