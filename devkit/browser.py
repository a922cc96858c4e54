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
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # no Playwright: launch_browser's import then says so
    PlaywrightTimeout = TimeoutError

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
    from workflows.api_client import ComfyClient

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


# The node search box: frontend 1.3x (PrimeVue autocomplete) and 1.5x ("Add a node..." dialog).
NODE_SEARCH_INPUT = (
    "input[id^='comfy-vue-node-search-box-input'], input[placeholder='Search Nodes...'], "
    "input[role='combobox'][aria-controls='results-list']"
)
NODE_SEARCH_OPTION = ".p-autocomplete-option, #results-list [role='option']"
UI_TIMEOUT_MS = 60_000  # bounds a wait for something the page does; reached only when it never happens
SEARCH_OPEN_TRY_MS = 5_000  # after a double-click, how long the search box may take before another try

# True once the canvas's layout (position, size, backing store) and the graph's node count read
# the same on two polls in a row: the page has finished loading and moving things around (a
# banner that slides in shifts the canvas; the default graph loads after the node definitions).
LAYOUT_SETTLED = """
() => {
  const canvas = window.app?.canvas?.canvas;
  if (!canvas || !window.app.graph) return false;
  const box = canvas.getBoundingClientRect();
  const key = [box.left, box.top, box.width, box.height, canvas.width, canvas.height,
               window.app.graph.nodes.length].join(",");
  const settled = window.__identityLoraLayout === key;
  window.__identityLoraLayout = key;
  return settled;
}
"""

# A point (page coordinates) where a double-click reaches the empty canvas: nothing on top of the
# canvas there (menus, banners, dialogs, the minimap, DOM-drawn nodes) and no node or group under
# it; null while there is none (what covers the candidates is left in __identityLoraTaken).
EMPTY_CANVAS_SPOT = """
() => {
  const lgCanvas = window.app.canvas, element = lgCanvas.canvas, graph = window.app.graph;
  const ds = lgCanvas.ds;  // graph position = CSS pixels on the canvas / scale - offset
  const box = element.getBoundingClientRect();
  const groups = graph.groups || graph._groups || [];
  const inGroup = (x, y) => groups.some((g) => {
    const [left, top, width, height] = g._bounding || g.bounding;
    return x >= left && x <= left + width && y >= top && y <= top + height;
  });
  const taken = new Set();
  for (const fy of [0.85, 0.75, 0.65, 0.55, 0.45, 0.35, 0.25, 0.95]) {
    for (const fx of [0.5, 0.35, 0.65, 0.2, 0.8]) {
      const x = box.left + box.width * fx, y = box.top + box.height * fy;
      const top = document.elementFromPoint(x, y);
      if (top !== element) {
        taken.add(top ? `${top.tagName.toLowerCase()}.${String(top.className).split(" ")[0]}` : "nothing");
        continue;
      }
      const gx = (x - box.left) / ds.scale - ds.offset[0], gy = (y - box.top) / ds.scale - ds.offset[1];
      const node = graph.getNodeOnPos(gx, gy, graph.nodes);
      if (node || inGroup(gx, gy)) {
        taken.add(node ? `node ${node.type}` : "a group");
        continue;
      }
      return [x, y];
    }
  }
  window.__identityLoraTaken = [...taken];
  return null;
}
"""


def wait_for_settled_layout(page: Any, timeout_ms: float = UI_TIMEOUT_MS) -> None:
    page.wait_for_function(LAYOUT_SETTLED, polling=200, timeout=timeout_ms)


def open_node_search(page: Any, timeout_ms: int = UI_TIMEOUT_MS) -> Any:
    """Open the node search box the way a user does: double-click an empty spot of the canvas.

    It used to double-click a fixed spot (the canvas's bottom middle) as soon as the node
    definitions were there. That spot can hold a node of the default graph, or a banner that slides
    in later moves the canvas under it, and the graph may not be loaded yet: the double-click then
    opens nothing. Now the spot is one the frontend itself reports empty (no node, no group, nothing
    drawn over the canvas) once the layout has settled, and a double-click that still opens nothing
    (the layout moved in between) is made again at a spot found anew, until the box shows.
    """
    search = page.locator(NODE_SEARCH_INPUT).first
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        page.mouse.dblclick(*_empty_canvas_spot(page, _left_ms(deadline)))
        try:
            search.wait_for(state="visible", timeout=min(SEARCH_OPEN_TRY_MS, _left_ms(deadline)))
            return search
        except PlaywrightTimeout:
            if time.monotonic() >= deadline:
                raise


def _empty_canvas_spot(page: Any, timeout_ms: float) -> tuple[float, float]:
    """Waits until the layout has settled and the frontend reports an empty spot; returns it."""
    try:
        wait_for_settled_layout(page, timeout_ms)
        spot = page.wait_for_function(EMPTY_CANVAS_SPOT, polling=200, timeout=timeout_ms)
    except PlaywrightTimeout as error:
        taken = page.evaluate("() => window.__identityLoraTaken || []")
        raise RuntimeError(f"no empty spot on the canvas to double-click; covered by {taken}") from error
    x, y = spot.json_value()
    return x, y


def _left_ms(deadline: float) -> float:
    return max((deadline - time.monotonic()) * 1000, 1)


# True once the options list reads the same on two polls in a row (the search debounces typing).
OPTIONS_SETTLED = """
(selector) => {
  const texts = [...document.querySelectorAll(selector)].map((el) => el.innerText).join("\\n--\\n");
  const settled = texts.length > 0 && window.__identityLoraOptions === texts;
  window.__identityLoraOptions = texts;
  return settled;
}
"""


def search_nodes(page: Any, text: str, timeout_ms: int = UI_TIMEOUT_MS) -> list[str]:
    """Type ``text`` into the node search box; returns the text of every option it shows."""
    search = open_node_search(page, timeout_ms)
    search.fill("")
    page.keyboard.type(text, delay=20)
    page.locator(NODE_SEARCH_OPTION).first.wait_for(state="visible", timeout=timeout_ms)
    page.wait_for_function(OPTIONS_SETTLED, arg=NODE_SEARCH_OPTION, polling=300, timeout=timeout_ms)
    return [option.inner_text() for option in page.locator(NODE_SEARCH_OPTION).all()]


def close_node_search(page: Any, timeout_ms: int = UI_TIMEOUT_MS) -> None:
    page.keyboard.press("Escape")
    page.locator(NODE_SEARCH_INPUT).first.wait_for(state="hidden", timeout=timeout_ms)


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
