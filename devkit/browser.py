"""Headless Chromium (Debian's /usr/bin/chromium) driving a host's real ComfyUI frontend.

Playwright's Python package controls the system browser (``executable_path``), so no browser
download is needed. ``CHROMIUM`` overrides the path.

    with open_frontend(host.url) as page:
        page.keyboard.type("Dataset Check")
        page.screenshot(path=...)
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
)
VIEWPORT = {"width": 1440, "height": 900}
APP_READY_TIMEOUT_MS = 90_000
# A returning user's settings: skip the first-run templates dialog (it covers the canvas).
DEFAULT_SETTINGS = {"Comfy.TutorialCompleted": True}


def chromium_path() -> str:
    """The browser binary; a clear error (with the install command) when it is missing."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"no Chromium at {path}: install it with `apt-get install -y chromium` "
            "(scripts/setup_test_env.sh does) or set CHROMIUM to a Chromium binary"
        )
    return path


@contextmanager
def launch_browser() -> Iterator[Any]:
    """A Playwright Browser on the system Chromium, closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()


def wait_for_app(page: Any, timeout_ms: int = APP_READY_TIMEOUT_MS) -> None:
    """Wait until the frontend has built its graph canvas and loaded the node definitions."""
    page.wait_for_function(
        "() => !!(window.app && window.app.graph && window.app.canvas"
        " && window.LiteGraph && Object.keys(window.LiteGraph.registered_node_types || {}).length > 0)",
        timeout=timeout_ms,
    )
    page.wait_for_selector("canvas", state="visible", timeout=timeout_ms)


def store_settings(url: str, settings: dict[str, Any]) -> None:
    """Save frontend settings for the server's (single) user, as the settings dialog would."""
    from workflows.queue_client import ComfyClient

    status, answer = ComfyClient(url).post_json("/settings", settings)
    if status != 200:
        raise RuntimeError(f"POST {url}/settings answered HTTP {status}: {answer}")


@contextmanager
def open_frontend(
    url: str, console: list[str] | None = None, settings: dict[str, Any] | None = None
) -> Iterator[Any]:
    """A page with the host's frontend loaded and ready; ``console`` collects console/page errors.

    ``settings`` (default ``DEFAULT_SETTINGS``) are stored on the server before the page loads.
    """
    store_settings(url, DEFAULT_SETTINGS if settings is None else settings)
    with launch_browser() as browser:
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        if console is not None:
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
            page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
        page.goto(url, wait_until="domcontentloaded")
        wait_for_app(page)
        try:
            yield page
        finally:
            context.close()


NODE_SEARCH_INPUT = "input[id^='comfy-vue-node-search-box-input'], input[placeholder='Search Nodes...']"
NODE_SEARCH_OPTION = ".p-autocomplete-option"


def open_node_search(page: Any) -> Any:
    """Open the node search box the way a user does: double-click an empty spot of the canvas."""
    canvas = page.locator("canvas#graph-canvas")
    box = canvas.bounding_box()
    page.mouse.dblclick(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.85)
    search = page.locator(NODE_SEARCH_INPUT).first
    search.wait_for(state="visible", timeout=15_000)
    return search


def search_nodes(page: Any, text: str, wait_ms: int = 15_000) -> list[str]:
    """Type ``text`` into the node search box; returns the text of every option it shows."""
    search = open_node_search(page)
    search.fill("")
    page.keyboard.type(text, delay=20)
    page.locator(NODE_SEARCH_OPTION).first.wait_for(state="visible", timeout=wait_ms)
    page.wait_for_timeout(500)  # the list settles after the debounce
    return [option.inner_text() for option in page.locator(NODE_SEARCH_OPTION).all()]


def close_node_search(page: Any) -> None:
    page.keyboard.press("Escape")
    page.locator(NODE_SEARCH_INPUT).first.wait_for(state="hidden", timeout=10_000)


THUMBNAIL_MARGINS = (100, 140)  # left, top: keep the groups clear of the sidebar and menus

# Fit every group of the loaded graph into the view inside the margins; the script returns the
# groups' box on screen (left, top, right, bottom) for cropping a screenshot.
FIT_VIEW_SCRIPT = """
([leftMargin, topMargin]) => {
  const canvas = window.app.canvas, element = canvas.canvas;
  const boxes = (window.app.graph.groups || window.app.graph._groups).map((g) => g._bounding);
  const left = Math.min(...boxes.map((b) => b[0])), top = Math.min(...boxes.map((b) => b[1]));
  const right = Math.max(...boxes.map((b) => b[0] + b[2]));
  const bottom = Math.max(...boxes.map((b) => b[1] + b[3]));
  const scale = Math.min((element.clientWidth - leftMargin - 20) / (right - left),
                         (element.clientHeight - topMargin - 20) / (bottom - top));
  canvas.ds.scale = scale;
  canvas.ds.offset[0] = leftMargin / scale - left;
  canvas.ds.offset[1] = topMargin / scale - top;
  canvas.setDirty(true, true);
  const pad = 12;
  return [leftMargin - pad, topMargin - pad,
          leftMargin + (right - left) * scale + pad, topMargin + (bottom - top) * scale + pad];
}
"""
