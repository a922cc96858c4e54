"""The one engine version this pack is built and tested against.

sd-scripts changes flags and defaults between versions, so the bridge pins an exact commit.
``FINGERPRINT`` lists git blob ids of the files the FLUX LoRA path runs through, taken from the
pinned commit (``git ls-tree``). They let ``doctor`` check a checkout honestly even when it has no
``.git`` folder (an offline copy made with ``install --from``): a copy whose key files hash to
these ids runs the pinned code, whatever commit it claims.
"""

from __future__ import annotations

ENGINE_REPOSITORY_URL = "https://github.com/kohya-ss/sd-scripts.git"
ENGINE_TAG = "v0.10.1"
ENGINE_COMMIT = "48d368fa557731ad0488c07304dfeba8c07910eb"

# path inside the checkout -> git blob id at ENGINE_COMMIT
FINGERPRINT: dict[str, str] = {
    "flux_train_network.py": "cfc617088d65505a01fdf3620aa81573ce3808ab",
    "train_network.py": "2f8797d25a38b09623ffd62505fdb0e803b9aa69",
    "library/train_util.py": "d8577b9d7ff0787cf98225d8c6690aac098afd7f",
    "library/config_util.py": "53727f2522fe0c86a76eda1d962069ed9eaef9c1",
    "library/flux_train_utils.py": "c96e4bb6d3af3e2eeb524ec9c89bbc6bcdc5493c",
    "library/flux_utils.py": "410b34ce23e936682c4d9687fe1f27f000cbd233",
    "library/strategy_flux.py": "5e65927f8b018308c6660ab1c70c822b0b8bd6d1",
    "networks/lora_flux.py": "d74d01728251503b842c7d00594d75432db6cd15",
}

# torchvision is imported by the engine (library/utils.py) but missing from its requirements.txt.
EXTRA_ENGINE_PACKAGES = ("torchvision",)

# The torch pair the pack is tested with; `install --torch-spec` overrides it (e.g. another CUDA build).
TESTED_TORCH_SPEC = ("torch==2.14.1", "torchvision==0.29.1")
