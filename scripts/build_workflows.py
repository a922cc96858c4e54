"""Build the shipped workflows from their descriptions and a live ComfyUI's /object_info.

The graphs are described once in ``devkit/shipped_workflows.py``; ``devkit/workflow_builder.py``
lays them out from the server's node definitions. Written for every graph:

* ``example_workflows/<name>.json``: UI (litegraph 0.4) format for drag and drop and the
  template browser;
* ``workflows/api/<name>.json``: API format for ``POST /prompt`` and ``workflows/queue_client.py``,
  with the same node ids.

Usage::

    python scripts/build_workflows.py                 # starts the harness host (devkit/host.py)
    python scripts/build_workflows.py --server URL    # or asks a running ComfyUI with this pack
    python scripts/build_workflows.py --check         # exit 1 when a committed file is stale
    python scripts/build_workflows.py --thumbnails    # also screenshot each graph in the real
                                                      # frontend (headless Chromium) as <name>.jpg

Run it after changing a node's inputs or outputs; tests/workflows/test_shipped_workflows.py fails
until the committed files match.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from devkit.browser import FIT_VIEW_SCRIPT, THUMBNAIL_MARGINS, open_frontend  # noqa: E402
from devkit.host import Host  # noqa: E402
from devkit.shipped_workflows import (  # noqa: E402
    BUILD_COMMAND,
    UI_DIR,
    all_graphs,
    create_model_placeholders,
    expected_files,
    stale_files,
)
from devkit.workflow_builder import WorkflowBuildError  # noqa: E402
from workflows.api_client import ComfyClient  # noqa: E402


def _harness_host() -> Iterator[str]:
    host = Host()
    try:
        create_model_placeholders(host.base_dir)
        host.start()
        yield host.url
    finally:
        host.cleanup()


def _given_server(url: str) -> Iterator[str]:
    yield url


def object_info_from(url: str) -> dict[str, Any]:
    return ComfyClient(url, timeout=120).object_info()


def render_thumbnails(url: str, names: Sequence[str]) -> list[Path]:
    """Screenshot each UI workflow in the real frontend (headless Chromium), cropped to its groups."""
    from PIL import Image

    settings = {"Comfy.TutorialCompleted": True, "Comfy.Minimap.Visible": False}
    written = []
    with open_frontend(url, settings=settings) as page:
        page.set_viewport_size({"width": 2560, "height": 1440})
        for name in names:
            workflow = json.loads((UI_DIR / f"{name}.json").read_text(encoding="utf-8"))
            page.evaluate("async (wf) => { await window.app.loadGraphData(wf); }", workflow)
            groups_on_screen = page.evaluate(FIT_VIEW_SCRIPT, list(THUMBNAIL_MARGINS))
            page.wait_for_timeout(800)
            png = UI_DIR / f".{name}.png"
            page.screenshot(path=str(png))
            thumbnail = UI_DIR / f"{name}.jpg"
            with Image.open(png) as image:
                canvas_only = image.convert("RGB").crop(tuple(round(v) for v in groups_on_screen))
                canvas_only.thumbnail((1024, 1024), Image.LANCZOS)
                canvas_only.save(thumbnail, quality=85, optimize=True)
            png.unlink()
            written.append(thumbnail)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", help="a running ComfyUI with this pack (default: start the test host)")
    parser.add_argument("--check", action="store_true", help="only report stale files (exit 1)")
    parser.add_argument("--thumbnails", action="store_true", help="also render <name>.jpg thumbnails")
    args = parser.parse_args(argv)
    servers: Callable[[], Iterator[str]] = (
        (lambda: _given_server(args.server)) if args.server else _harness_host
    )
    for url in servers():
        try:
            object_info = object_info_from(url)
            if args.check:
                stale = stale_files(object_info)
                for path in stale:
                    print(f"stale: {path.relative_to(REPO_ROOT)}")
                if stale:
                    print(f"run `{BUILD_COMMAND}` to regenerate them")
                return 1 if stale else 0
            for path, text in expected_files(object_info).items():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                print(f"wrote {path.relative_to(REPO_ROOT)}")
            if args.thumbnails:
                for path in render_thumbnails(url, [g.name for g in all_graphs()]):
                    print(f"wrote {path.relative_to(REPO_ROOT)}")
        except WorkflowBuildError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
