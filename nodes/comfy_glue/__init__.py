"""The only package of the pack that imports ComfyUI's own modules (``tests/test_layout.py``).

Every module here imports ComfyUI lazily, inside its functions, so the node modules can be
imported (and their INPUT_TYPES read) cheaply when ComfyUI loads the pack. One concern each:

- ``progress``: the node's progress bar and the user's cancel;
- ``events``: the prompt running now, and messages for the client that queued it;
- ``model_folders``: ComfyUI's model folders (the insightface folder), the choices of core loaders;
- ``lora_folders``: the ``loras`` folders, and whether a path lies inside them;
- ``images``: IMAGE tensors to and from 8-bit arrays, preview images;
- ``sampling``: the core LoRA loader, text encode, KSampler and VAE decode calls;
- ``memory``: the GPUs, and the VRAM and RAM that ComfyUI's models hold;
- ``server_folders``: the folders ComfyUI serves, the allowed roots, the pack's private work folder;
- ``hidden_paths``: server paths replaced by labels in what clients read.
"""
