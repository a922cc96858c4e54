"""TEST DOUBLE of kohya-ss/sd-scripts' ``flux_train_network.py``: it trains nothing.

It stands in for the real engine in the runner tests. It parses the real flags it needs
(``parse_known_args``: every other flag is accepted and ignored) and speaks the real engine's
console format (``/work/shared/notes/sd_scripts.md`` §4):

* stdout: the ``running training / 学習開始`` block, ``epoch N/M``, ``saving checkpoint: <abs path>``;
* stderr: a real tqdm ``steps`` bar (``\\r``-separated renders, ``avr_loss`` postfix set after
  ``update`` as the engine does) and rich-style log lines glued onto it (or the log goes to
  ``--console_log_file`` / stdout with ``--console_log_simple``, like the engine).

It writes LoRA files with the real kohya key names and shapes for ``--network_dim`` (FLUX width
3072, CLIP-L 768) but only ``STAND_IN_BLOCKS`` (default ``1,1``: double,single) blocks, so files
stay small; ``-stepNNNNNNNN`` checkpoints, and with ``--save_state`` ``-state`` dirs holding
``train_state.json`` (written first) and ``random_states_0.pkl`` (written last), as accelerate does.
``--resume`` restores the weights and, with ``--skip_until_initial_step``, the step count (the bar
then counts only the remaining steps). ``--network_weights`` loads a LoRA; like the real engine,
``--network_train_unet_only`` drops its CLIP-L keys and ``--text_encoder_lr 0`` keeps them unchanged.
SIGTERM ends it (Python's default action) unless ``STAND_IN_IGNORE_SIGTERM=1``.
With ``--sample_prompts`` (a JSON prompt file) and ``--sample_every_n_steps`` it writes one PNG
per prompt at each sampling step, before that step's checkpoint, named as the engine names them
(``<output_name>_<step:06d>_<prompt index:02d>_<timestamp>_<seed>.png``) at the entry's size.

Behaviour switches (environment variables):
  STAND_IN_SEC_PER_STEP   seconds per step (default 0.05)
  STAND_IN_NAN_AT_STEP    from this global step on the loss is nan and saved weights hold NaN
                          (the real engine keeps going and exits 0)
  STAND_IN_CRASH_AT_STEP  raise a RuntimeError at this step (exit code 1, traceback on stderr)
  STAND_IN_OOM_AT_STEP    die at this step with a CUDA out-of-memory traceback
  STAND_IN_OOM_BELOW_SWAP with OOM_AT_STEP: only while --blocks_to_swap is below this (a card that
                          the larger VRAM tiers do not fit)
  STAND_IN_NO_OUTPUT      exit 0 without writing the final file
  STAND_IN_MISSING_KEYS   leave one module out of the final file
  STAND_IN_IGNORE_SIGTERM ignore SIGTERM (only SIGKILL stops it)
  STAND_IN_PID_FILE       write this process's pid there (the launcher's child, for tree checks)
  STAND_IN_BLOCKS         "double,single" block counts of the LoRA (default "1,1")
  STAND_IN_SAMPLE_SCHEDULE  JSON list of {"until_step": N, "folder": DIR}: a sample at phase step s
                          is a photo from the first entry with s <= until_step (cycled by prompt
                          index and step, resized to the sample size); without it, a plain colour
"""

import argparse
import json
import os
import pickle
import signal
import sys
import time
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file
from tqdm import tqdm

HIDDEN = 3072
CLIP = 768
DOUBLE = {
    "attn_qkv": (HIDDEN, 3 * HIDDEN),
    "attn_proj": (HIDDEN, HIDDEN),
    "mlp_0": (HIDDEN, 4 * HIDDEN),
    "mlp_2": (4 * HIDDEN, HIDDEN),
    "mod_lin": (HIDDEN, 6 * HIDDEN),
}
SINGLE = {
    "linear1": (HIDDEN, 7 * HIDDEN),
    "linear2": (5 * HIDDEN, HIDDEN),
    "modulation_lin": (HIDDEN, 3 * HIDDEN),
}
CLIP_MODULES = {
    "self_attn_q_proj": (CLIP, CLIP),
    "self_attn_k_proj": (CLIP, CLIP),
    "self_attn_v_proj": (CLIP, CLIP),
    "self_attn_out_proj": (CLIP, CLIP),
    "mlp_fc1": (CLIP, 4 * CLIP),
    "mlp_fc2": (4 * CLIP, CLIP),
}


PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg")


class OutOfMemoryError(RuntimeError):
    """Named like torch's, so the traceback reads like the real one."""


def env_int(name):
    value = os.environ.get(name)
    return int(value) if value else None


def parse_args():
    parser = argparse.ArgumentParser(description="stand-in for flux_train_network.py (test double)")
    add = parser.add_argument
    add("--output_dir", required=True)
    add("--output_name", default="last")
    add("--max_train_steps", type=int, default=1600)
    add("--save_every_n_steps", type=int)
    add("--save_state", action="store_true")
    add("--save_state_on_train_end", action="store_true")
    add("--resume")
    add("--skip_until_initial_step", action="store_true")
    add("--initial_step", type=int)
    add("--network_weights")
    add("--network_dim", type=int, default=4)
    add("--network_alpha", type=float, default=1.0)
    add("--network_module", default="networks.lora_flux")
    add("--network_train_unet_only", action="store_true")
    add("--text_encoder_lr", type=float, nargs="*")
    add("--learning_rate", type=float, default=1e-4)
    add("--dataset_config")
    add("--pretrained_model_name_or_path")
    add("--console_log_file")
    add("--console_log_simple", action="store_true")
    add("--sample_prompts")
    add("--sample_every_n_steps", type=int)
    add("--validate_every_n_steps", type=int)
    add("--seed", type=int, default=42)
    add("--blocks_to_swap", type=int, default=0)
    args, _unknown = parser.parse_known_args()
    return args


class Log:
    """The engine's logger: rich-style on stderr by default (glued onto the bar), or a file."""

    def __init__(self, args):
        self.file = open(args.console_log_file, "a", encoding="utf-8") if args.console_log_file else None  # noqa: SIM115
        self.simple = args.console_log_simple

    def info(self, message, level="INFO"):
        if self.file is not None:
            self.file.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {level} {message}\n")
            self.file.flush()
        elif self.simple:
            print(message, flush=True)
        else:  # RichHandler: time, level, message padded to the width, source on the right
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            sys.stderr.write(f"{stamp} {level:<8} {message:<60} train_network.py:1234\n")
            sys.stderr.flush()


def module_shapes(train_unet, train_te, blocks):
    doubles, singles = blocks
    shapes = {}
    if train_unet:
        for index in range(doubles):
            for side in ("img", "txt"):
                for name, shape in DOUBLE.items():
                    shapes[f"lora_unet_double_blocks_{index}_{side}_{name}"] = shape
        for index in range(singles):
            for name, shape in SINGLE.items():
                shapes[f"lora_unet_single_blocks_{index}_{name}"] = shape
    if train_te:
        for layer in range(12):
            for name, shape in CLIP_MODULES.items():
                shapes[f"lora_te1_text_model_encoder_layers_{layer}_{name}"] = shape
    return shapes


def initial_weights(shapes, rank, alpha, rng):
    """kohya's init: lora_down random, lora_up zeros."""
    weights = {}
    for module, (fan_in, fan_out) in shapes.items():
        down = rng.standard_normal((rank, fan_in)) * 0.01
        weights[f"{module}.lora_down.weight"] = down.astype(np.float32)
        weights[f"{module}.lora_up.weight"] = np.zeros((fan_out, rank), dtype=np.float32)
        weights[f"{module}.alpha"] = np.array(alpha, dtype=np.float32)
    return weights


def load_weights(path, shapes):
    """Like the engine's strict=False load: keys of modules that were not created are ignored."""
    loaded = {key: value.astype(np.float32) for key, value in load_file(path).items()}
    return {key: value for key, value in loaded.items() if key.split(".", 1)[0] in shapes}


def metadata(args, step):
    return {
        "ss_network_module": args.network_module,
        "ss_network_dim": str(args.network_dim),
        "ss_network_alpha": str(args.network_alpha),
        "ss_learning_rate": str(args.learning_rate),
        "ss_text_encoder_lr": str(args.text_encoder_lr),
        "ss_max_train_steps": str(args.max_train_steps),
        "ss_steps": str(step),
        "ss_epoch": "1",
        "ss_output_name": args.output_name,
        "ss_base_model_version": "flux1",
        "ss_model_type": "flux",
        "ss_sd_scripts_commit_hash": "(stand-in test double)",
        "modelspec.architecture": "flux-1-dev/lora",
        "modelspec.title": args.output_name,
    }


def save_lora(path, weights, args, step, poisoned=False, drop_module=False):
    print(f"\nsaving checkpoint: {path}", flush=True)
    tensors = {key: value.astype(np.float16) for key, value in weights.items()}
    if poisoned:
        for key in list(tensors)[::3]:
            tensors[key] = np.full_like(tensors[key], np.nan)
    if drop_module:
        victim = next(iter(tensors)).split(".", 1)[0]
        tensors = {key: value for key, value in tensors.items() if not key.startswith(victim + ".")}
    save_file(tensors, str(path), metadata=metadata(args, step))


def save_state(state_dir, weights, step):
    """In accelerate's order: train_state.json (save hook) first, RNG states last."""
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "train_state.json").write_text(json.dumps({"current_epoch": 1, "current_step": step}))
    save_file({key: value for key, value in weights.items()}, str(state_dir / "model.safetensors"))
    (state_dir / "optimizer.bin").write_bytes(b"stand-in optimizer state")
    (state_dir / "scheduler.bin").write_bytes(b"stand-in scheduler state")
    with open(state_dir / "random_states_0.pkl", "wb") as handle:
        pickle.dump({"step": step}, handle)


def write_samples(args, output_dir, step):
    """One image per prompt of the JSON prompt file, named as the engine names them."""
    from PIL import Image

    prompts = json.loads(Path(args.sample_prompts).read_text(encoding="utf-8"))
    folder = output_dir / "sample"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d%H%M%S")
    for index, prompt in enumerate(prompts):
        size = (int(prompt.get("width", 512)), int(prompt.get("height", 512)))
        seed = prompt.get("seed")
        suffix = "" if seed is None else f"_{seed}"
        image = scheduled_photo(step, index, size) or Image.new(
            "RGB", size, (step % 255, index * 40 % 255, 0)
        )
        image.save(folder / f"{args.output_name}_{step:06d}_{index:02d}_{stamp}{suffix}.png")


def scheduled_photo(step, index, size):
    """The photo ``STAND_IN_SAMPLE_SCHEDULE`` names for this step and prompt (None: no schedule)."""
    from PIL import Image

    schedule = json.loads(os.environ.get("STAND_IN_SAMPLE_SCHEDULE") or "[]")
    entry = next((e for e in schedule if step <= int(e["until_step"])), None)
    if entry is None:
        return None
    photos = sorted(
        p for p in Path(entry["folder"]).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg")
    )
    with Image.open(photos[(index + step) % len(photos)]) as photo:
        return photo.convert("RGB").resize(size)


def validate(sec_per_step, level):
    """A validation run: its bar shows the running loss in the postfix, as train_network.py does."""
    bar = tqdm(range(4), smoothing=0, desc="validation steps", file=sys.stderr, leave=False)
    losses = []
    for index in bar:
        time.sleep(sec_per_step / 4)
        losses.append(level + 0.01 * index)
        bar.set_postfix({"val_avg_loss": float(np.mean(losses)), "timestep": 500})


def print_running_block(args, steps):
    print("running training / 学習開始")
    print("  num train images * repeats / 学習画像の数×繰り返し回数: 40")
    print("  num validation images * repeats / 学習画像の数×繰り返し回数: 0")
    print("  num reg images / 正則化画像の数: 0")
    print("  num batches per epoch / 1epochのバッチ数: 40")
    print(f"  num epochs / epoch数: {max(1, -(-steps // 40))}")
    print("  batch size per device / バッチサイズ: 1")
    print("  gradient accumulation steps / 勾配を合計するステップ数 = 1")
    print(f"  total optimization steps / 学習ステップ数: {args.max_train_steps}", flush=True)


def main():
    args = parse_args()
    if os.environ.get("STAND_IN_PID_FILE"):
        Path(os.environ["STAND_IN_PID_FILE"]).write_text(str(os.getpid()))
    if os.environ.get("STAND_IN_IGNORE_SIGTERM"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    log = Log(args)
    sec_per_step = float(os.environ.get("STAND_IN_SEC_PER_STEP", "0.05"))
    blocks = tuple(int(n) for n in os.environ.get("STAND_IN_BLOCKS", "1,1").split(","))
    nan_at, crash_at, oom_at = (env_int(f"STAND_IN_{k}_AT_STEP") for k in ("NAN", "CRASH", "OOM"))
    fits_from = env_int("STAND_IN_OOM_BELOW_SWAP")
    if fits_from is not None and args.blocks_to_swap >= fits_from:
        oom_at = None

    if args.dataset_config:
        log.info(f"Loading dataset config from {args.dataset_config}")
        if not Path(args.dataset_config).is_file():
            raise FileNotFoundError(args.dataset_config)
    te_lrs = args.text_encoder_lr or []
    train_te = not args.network_train_unet_only
    te_frozen = bool(te_lrs) and te_lrs[0] == 0
    shapes = module_shapes(True, train_te, blocks)
    rng = np.random.default_rng(args.seed)
    weights = initial_weights(shapes, args.network_dim, args.network_alpha, rng)
    if args.network_weights:
        weights.update(load_weights(args.network_weights, shapes))
        matched = "<All keys matched successfully>"
        print(f"load network weights from {args.network_weights}: {matched}", flush=True)
    if te_frozen:
        log.info("NO LR skipping!")

    initial_step = 0
    if args.resume:
        state_dir = Path(args.resume)
        log.info(f"resume training from local state: {state_dir}")
        weights.update(load_file(str(state_dir / "model.safetensors")))
        steps_from_state = json.loads((state_dir / "train_state.json").read_text())["current_step"]
        if args.initial_step is not None:
            initial_step = args.initial_step
        elif args.skip_until_initial_step:
            initial_step = steps_from_state
        if initial_step:
            log.info(f"skipping {initial_step} steps / {initial_step}ステップをスキップします")

    output_dir = Path(args.output_dir).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    print_running_block(args, args.max_train_steps)
    log.info("text_encoder is not needed for training. deleting to save memory.")
    bar = tqdm(range(args.max_train_steps - initial_step), smoothing=0, desc="steps", file=sys.stderr)
    print("\nepoch 1/1\n", flush=True)
    losses = []
    poisoned = False
    for global_step in range(initial_step + 1, args.max_train_steps + 1):
        time.sleep(sec_per_step)
        if crash_at == global_step:
            raise RuntimeError(f"stand-in crash at step {global_step}")
        if oom_at == global_step:
            raise OutOfMemoryError(
                "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 23.55 GiB "
                "of which 1.12 GiB is free."
            )
        poisoned = poisoned or (nan_at is not None and global_step >= nan_at)
        loss = float("nan") if poisoned else 2.65 - 0.01 * global_step + 0.02 * rng.random()
        for key, value in weights.items():
            trains = key.startswith("lora_unet_") or not te_frozen
            if trains and key.endswith("lora_up.weight"):
                value += (rng.standard_normal(value.shape, dtype=np.float32) * 1e-3).astype(np.float32)
        bar.update(1)
        if args.sample_prompts and args.sample_every_n_steps and global_step % args.sample_every_n_steps == 0:
            write_samples(args, output_dir, global_step)  # the engine samples before it saves
        if args.save_every_n_steps and global_step % args.save_every_n_steps == 0:
            stem = output_dir / f"{args.output_name}-step{global_step:08d}"
            save_lora(stem.with_name(stem.name + ".safetensors"), weights, args, global_step, poisoned)
            if args.save_state:
                log.info(f"saving state at step {global_step}")  # rich: glued onto the bar's render
                save_state(stem.with_name(stem.name + "-state"), weights, global_step)
        if args.validate_every_n_steps and global_step % args.validate_every_n_steps == 0:
            validate(sec_per_step, 1.0 - 0.01 * global_step)
        losses.append(loss)
        bar.set_postfix(avr_loss=float(np.mean(losses)))

    if args.save_state or args.save_state_on_train_end:
        save_state(output_dir / f"{args.output_name}-state", weights, args.max_train_steps)
    if os.environ.get("STAND_IN_NO_OUTPUT"):
        log.info("model saved.")
        return 0
    save_lora(
        output_dir / f"{args.output_name}.safetensors",
        weights,
        args,
        args.max_train_steps,
        poisoned,
        drop_module=bool(os.environ.get("STAND_IN_MISSING_KEYS")),
    )
    log.info("model saved.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
