"""The ``plan`` subcommand's arguments and how they become a :class:`PlanRequest`."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..engine.device import detect_device
from ..engine.folder import engine_at, engine_root_from, locate_engine, tokenizer_cache_dir
from ..errors import BridgeError
from ..job import place_run
from ..model import DatasetImage, DeviceReport, Engine, ModelFiles, PlanRequest, TrainingPlan
from ..plan.build import build_plan
from ..plan.overrides import parse_key_values
from ..plan.profiles import PROFILES
from ..plan.staging import IMAGE_SUFFIXES
from ..plan.te_policy import POLICIES
from ..plan.tiers import TIER_ORDER


def add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", choices=sorted(PROFILES), default="fast")
    parser.add_argument("--images", type=Path, required=True, help="dataset folder (images + .txt captions)")
    parser.add_argument("--reg", type=Path, help="regularization images folder")
    parser.add_argument("--trigger-token", required=True)
    parser.add_argument("--class-word", default="person")
    parser.add_argument("--output-name", required=True)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--run-dir", type=Path, help="the run folder (staged data, states, logs)")
    where.add_argument(
        "--runs-root",
        type=Path,
        help="a folder for run folders: this run's is named <output name>-<request key>, as the node does",
    )
    parser.add_argument("--flux", type=Path, required=True, help="FLUX.1 diffusion model (BFL single file)")
    parser.add_argument("--clip-l", type=Path, required=True)
    parser.add_argument("--t5xxl", type=Path, required=True)
    parser.add_argument("--ae", type=Path, required=True)
    parser.add_argument("--tier", default="auto", choices=("auto", *TIER_ORDER))
    parser.add_argument(
        "--vram-gib",
        type=float,
        help="free GPU memory (GiB) for the auto tier (default: ask the engine's torch what is free now)",
    )
    parser.add_argument("--te-policy", default="auto", choices=POLICIES)
    unique = parser.add_mutually_exclusive_group()
    unique.add_argument("--token-unique", dest="token_is_unique", action="store_true", default=None)
    unique.add_argument("--token-not-unique", dest="token_is_unique", action="store_false")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a profile value, e.g. --set max_train_steps=2000",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--save-every", type=int, help="save a checkpoint and resumable state every N steps")
    parser.add_argument("--sample-prompt", action="append", default=[], help="sample image prompt (repeat)")
    parser.add_argument("--sample-every", type=int)
    parser.add_argument("--validation-split", type=float, default=0.0)
    parser.add_argument("--tokenizer-cache-dir", type=Path, help="default: the engine's tokenizers folder")
    parser.add_argument(
        "--num-processes",
        type=int,
        default=1,
        help="processes, one per GPU of this machine (DDP through accelerate); with --cpu, CPU workers",
    )
    parser.add_argument(
        "--accelerate-arg", action="append", default=[], help="extra accelerate launch option"
    )
    parser.add_argument("--cpu", action="store_true", help="train on CPU (tests and the tiny demo)")
    parser.add_argument("--engine", type=Path)
    parser.add_argument("--allow-unpinned", action="store_true")
    parser.add_argument(
        "--no-engine-check",
        action="store_true",
        help="plan for an engine folder that is not installed yet (no VRAM probe)",
    )
    parser.add_argument("--json", action="store_true")


def read_folder(folder: Path, role: str) -> tuple[DatasetImage, ...]:
    """Images of a folder with the text of their same-stem .txt captions (read only, never written)."""
    if not folder.is_dir():
        raise BridgeError(
            what=f"The {role} folder does not exist", fix="pass an existing folder", path=folder
        )
    images = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            caption_file = path.with_suffix(".txt")
            caption = caption_file.read_text(encoding="utf-8").strip() if caption_file.is_file() else None
            images.append(DatasetImage(path, caption))
    return tuple(images)


def request_from_args(args: argparse.Namespace) -> tuple[PlanRequest, Engine]:
    """The request the arguments describe, and the engine it is planned for."""
    root = engine_root_from(args.engine)
    engine = engine_at(root) if args.no_engine_check else locate_engine(root)
    given = args.vram_gib is not None
    device = DeviceReport(free_vram_gib=args.vram_gib, measured_by="--vram-gib") if given else None
    if device is None and args.tier == "auto" and not args.cpu and not args.no_engine_check:
        device = detect_device(engine)
    request = PlanRequest(
        profile=args.profile,
        images=read_folder(args.images, "dataset"),
        regularization=read_folder(args.reg, "regularization") if args.reg else (),
        models=ModelFiles(args.flux, args.clip_l, args.t5xxl, args.ae),
        output_name=args.output_name,
        run_dir=args.run_dir or args.runs_root,
        trigger_token=args.trigger_token,
        class_word=args.class_word,
        vram_tier=args.tier,
        device=device,
        te_policy=args.te_policy,
        token_is_unique=args.token_is_unique,
        overrides=parse_key_values(args.overrides),
        seed=args.seed,
        save_every_n_steps=args.save_every,
        sample_prompts=tuple(args.sample_prompt),
        sample_every_n_steps=args.sample_every,
        validation_split=args.validation_split,
        tokenizer_cache_dir=args.tokenizer_cache_dir or tokenizer_cache_dir(engine),
        num_processes=args.num_processes,
        extra_accelerate_args=tuple(args.accelerate_arg),
        cpu=args.cpu,
        allow_unpinned_engine=args.allow_unpinned,
        publish_dir=getattr(args, "publish_dir", None),  # train only
    )
    if args.runs_root is not None:
        request = place_run(request, args.runs_root)
    return request, engine


def plan_from_args(args: argparse.Namespace) -> TrainingPlan:
    request, engine = request_from_args(args)
    return build_plan(request, engine)
