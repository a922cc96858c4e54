"""Shared fixtures: a real ComfyUI server with this pack loaded, driven over HTTP and /ws.

Fixture API (mark tests that use a host with ``@pytest.mark.host``)::

    def test_something(comfy_host):              # session-scoped, started once
        comfy_host.url                           # "http://127.0.0.1:<port>"
        comfy_host.base_dir                      # pathlib.Path: the server's --base-directory
        comfy_host.models_dir                    # <base>/models/<folder> is where loaders look
        comfy_host.input_dir, .output_dir, .temp_dir
        comfy_host.pack_dir                      # <base>/custom_nodes/<pack name> (symlink to the repo)
        comfy_host.log_text()                    # the server's whole log so far
        comfy_host.object_info()                 # GET /object_info (all nodes)
        comfy_host.object_info("DatasetCheck")   # GET /object_info/DatasetCheck
        comfy_host.get_json("/queue")            # any GET endpoint as JSON
        status, body = comfy_host.post_prompt(prompt)   # POST /prompt, not judged (400s come back)
        run = comfy_host.run_prompt(prompt, timeout=300)
        run.status                               # "success" | "error" | "interrupted"
        run.outputs                              # /history outputs by node id ({"text": [...], ...})
        run.error                                # execution_error data (node_id, exception_message..) or None
        run.progress("3")                        # [(value, max), ...] progress messages of node "3"
        run.messages                             # every ws message of the prompt, in order
        run.executed(), run.texts(), run.images(), run.prompt_id, run.history
        comfy_host.interrupt(prompt_id=None)     # POST /interrupt
        comfy_host.client                        # workflows.api_client.ComfyClient for anything else

    def test_workflows(model_host):             # session host with the workflows' model file names
    def test_frontend(newest_frontend_host):    # the same, serving the newest ComfyUI frontend

    def test_progress(probe_host):              # session host + test-only probe nodes:
        # HarnessProbeCounter(steps, delay, label, training_events) -> progress, ui text, interruptible
        # HarnessProbeFail(message) -> raises ValueError(message)

    def test_with_engine(start_comfy_host):      # function-scoped factory for extra servers
        host = start_comfy_host(pack_name="main", env={"IDENTITY_LORA_ENGINE": "/path"})
        (host.models_dir / "loras").mkdir(parents=True, exist_ok=True)  # files appear on the
        # next /object_info (ComfyUI rescans folders by mtime); to have files present at load time:
        host = start_comfy_host(prepare=lambda base: ...)   # called with the base dir before start

``run_prompt`` raises ``workflows.api_client.PromptRejected`` (``.status``, ``.body``) when /prompt
refuses the prompt. Servers started by the factory stop when the test ends; the session host
stops at the end of the session. ``KEEP_COMFY_HOST=1`` keeps their base folders (logs) on disk.
Host selection: ``COMFYUI_DIR`` (an existing ComfyUI) and ``COMFYUI_PYTHON``, else the cached
0.3.75 host under ``$IDENTITY_LORA_CACHE`` (see devkit/host.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from devkit.host import DEFAULT_PACK_NAME, Host, newest_frontend_args
from devkit.shipped_workflows import create_model_placeholders

REPO_ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"


class _PackRootIsNotATestPackage:
    """Collect the repo root as a plain folder, not as a Python package.

    The repo root is the pack folder, so it has an ``__init__.py``, and pytest would import it
    (``Package.setup``) before the first test: that file only works inside ComfyUI (it
    registers model folders with ``folder_paths``). Registered as a plugin (not a conftest hook)
    because the root directory's collector is made before this conftest's folder applies.
    """

    @pytest.hookimpl(tryfirst=True)
    def pytest_collect_directory(self, path: Path, parent: pytest.Collector) -> pytest.Collector | None:
        if path == REPO_ROOT:
            return pytest.Dir.from_parent(parent, path=path)
        return None


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_PackRootIsNotATestPackage(), "pack-root-is-not-a-test-package")


def _start(
    pack_name: str,
    env: Mapping[str, str] | None,
    extra_args: tuple[str, ...],
    prepare: Callable[[Path], None] | None,
    probe_nodes: bool = False,
) -> Host:
    host = Host(pack_name=pack_name, env=env, extra_args=extra_args, probe_nodes=probe_nodes)
    try:
        if prepare is not None:
            prepare(host.base_dir)
        return host.start()
    except BaseException:
        host.cleanup()
        raise


@pytest.fixture(scope="session")
def comfy_host() -> Iterator[Host]:
    """The session's ComfyUI server with the pack loaded under its default folder name."""
    host = _start(DEFAULT_PACK_NAME, None, (), None)
    try:
        yield host
    finally:
        host.cleanup()


@pytest.fixture(scope="session")
def model_host() -> Iterator[Host]:
    """A session server whose model folders hold empty files with the names the shipped workflows
    use (flux1-dev, clip_l, t5xxl_fp16, ae, the example LoRA), so they validate in full."""
    host = _start(DEFAULT_PACK_NAME, None, (), create_model_placeholders)
    try:
        yield host
    finally:
        host.cleanup()


@pytest.fixture(scope="session")
def newest_frontend_host() -> Iterator[Host]:
    """As ``model_host``, serving the newest ComfyUI frontend (devkit.host.NEWEST_FRONTEND, from
    the cache: ``--front-end-root``) instead of the host's own."""
    host = _start(DEFAULT_PACK_NAME, None, newest_frontend_args(), create_model_placeholders)
    try:
        yield host
    finally:
        host.cleanup()


@pytest.fixture(scope="session")
def probe_host() -> Iterator[Host]:
    """A second session server: the pack plus the harness's test-only probe nodes
    (``HarnessProbeCounter``: progress, interruption, training events; ``HarnessProbeFail``)."""
    host = _start(DEFAULT_PACK_NAME, None, (), None, probe_nodes=True)
    try:
        yield host
    finally:
        host.cleanup()


@pytest.fixture
def start_comfy_host() -> Iterator[Callable[..., Host]]:
    """Factory: ``start_comfy_host(pack_name=, env={..}, extra_args=(..), prepare=fn, probe_nodes=)``."""
    started: list[Host] = []

    def start(
        pack_name: str = DEFAULT_PACK_NAME,
        env: Mapping[str, str] | None = None,
        extra_args: tuple[str, ...] = (),
        prepare: Callable[[Path], None] | None = None,
        probe_nodes: bool = False,
    ) -> Host:
        host = _start(pack_name, env, tuple(extra_args), prepare, probe_nodes)
        started.append(host)
        return host

    try:
        yield start
    finally:
        for host in started:
            host.cleanup()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """``test-artifacts/`` at the repo root (git-ignored): screenshots and other evidence."""
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    return ARTIFACTS_DIR
