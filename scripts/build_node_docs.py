"""Build the node help pages (``web/docs/<NodeClass>.md``) from a live ComfyUI's /object_info.

The pages are described in ``devkit/node_docs.py``: the node's description and its input and
output tooltips come from the server (the text the frontend shows on hover), the thresholds and
their sources from the pack's data, the rest is written there.

Usage::

    python scripts/build_node_docs.py                 # starts the harness host (devkit/host.py)
    python scripts/build_node_docs.py --server URL    # or asks a running ComfyUI with this pack
    python scripts/build_node_docs.py --check         # exit 1 when a committed page is stale

Run it after changing a node's description, tooltips or thresholds; tests/web/test_node_docs.py
fails until the committed pages match.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from devkit.host import Host  # noqa: E402
from devkit.node_docs import BUILD_COMMAND, expected_pages, stale_pages  # noqa: E402
from workflows.api_client import ComfyClient  # noqa: E402


def _servers(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    host = Host()
    try:
        yield host.start().url
    finally:
        host.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", help="a running ComfyUI with this pack (default: start the test host)")
    parser.add_argument("--check", action="store_true", help="only report stale pages (exit 1)")
    args = parser.parse_args(argv)
    for url in _servers(args.server):
        object_info = ComfyClient(url, timeout=120).object_info()
        if args.check:
            stale = stale_pages(object_info)
            for path in stale:
                print(f"stale: {path.relative_to(REPO_ROOT)}")
            if stale:
                print(f"run `{BUILD_COMMAND}` to regenerate them")
            return 1 if stale else 0
        for path, text in expected_pages(object_info).items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
