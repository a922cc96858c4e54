"""Trigger-token uniqueness, judged with the CLIP-L and T5 tokenizers ComfyUI ships.

FLUX reads prompts with CLIP-L and T5-XXL. A token that either tokenizer keeps as one piece
is a word (or name) the encoders already give a meaning to: the "semantic ambiguity" case of
the text-encoder policy (docs/profiles.md, "Text encoder policy"), where text-encoder training
helps. A rare token splits into several meaningless pieces in both. Tokenizers load from ComfyUI's source tree
(``comfy/sd1_tokenizer``, ``comfy/text_encoders/t5_tokenizer``); nothing is downloaded.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import IdentityError
from .model import TokenUniqueness

CLIP_TOKENIZER_DIR = Path("comfy") / "sd1_tokenizer"
T5_TOKENIZER_DIR = Path("comfy") / "text_encoders" / "t5_tokenizer"
CLIP_CONTEXT_TOKENS = 75  # 77 positions minus the start and end tokens
_MEANINGFUL_PIECE_LETTERS = 4
_SYLLABLES = ("zy", "qu", "vor", "kx", "ix", "ov", "wex", "jr", "az", "uq", "ryn", "ze")


class TokenizerError(IdentityError):
    """The tokenizer files are missing from the ComfyUI folder."""


@dataclass(frozen=True)
class Tokenizers:
    clip: Any
    t5: Any

    def clip_count(self, text: str) -> int:
        """CLIP tokens in ``text`` without the start/end tokens (the limit is 75)."""
        return len(self.clip.tokenize(text))


def load_tokenizers(comfy_dir: str | Path) -> Tokenizers:
    """CLIP-L and T5 tokenizers from ``<comfy_dir>/comfy/...`` (cached per folder)."""
    return _load(str(Path(comfy_dir).resolve()))


@cache
def _load(comfy_dir: str) -> Tokenizers:
    from transformers import CLIPTokenizer, T5TokenizerFast

    clip_dir, t5_dir = Path(comfy_dir) / CLIP_TOKENIZER_DIR, Path(comfy_dir) / T5_TOKENIZER_DIR
    for folder in (clip_dir, t5_dir):
        if not folder.is_dir():
            raise TokenizerError(
                "ComfyUI's tokenizer folder is missing (it ships with ComfyUI)",
                "run the pack inside a complete ComfyUI that contains comfy/sd1_tokenizer and "
                "comfy/text_encoders/t5_tokenizer",
                path=folder,
            )
    return Tokenizers(
        clip=CLIPTokenizer.from_pretrained(str(clip_dir), local_files_only=True),
        t5=T5TokenizerFast.from_pretrained(str(t5_dir), local_files_only=True),
    )


def token_uniqueness(token: str, tokenizers: Tokenizers) -> TokenUniqueness:
    clip_pieces = tuple(tokenizers.clip.tokenize(token))
    t5_pieces = tuple(p for p in tokenizers.t5.tokenize(token) if p != "▁")
    reason = _ambiguity(token, clip_pieces, t5_pieces, tokenizers)
    if reason is None:
        return TokenUniqueness(
            token, clip_pieces, t5_pieces, True,
            f"'{token}' splits into {len(clip_pieces)} CLIP and {len(t5_pieces)} T5 pieces with no "
            "meaning of their own: a rare token the LoRA can bind to the face.",
        )  # fmt: skip
    return TokenUniqueness(
        token, clip_pieces, t5_pieces, False, reason, tuple(suggest_tokens(token, tokenizers))
    )


def _ambiguity(token: str, clip_pieces, t5_pieces, tokenizers: Tokenizers) -> str | None:
    if not token or any(ch.isspace() for ch in token):
        return "The trigger token must be one word without spaces."
    if len(clip_pieces) == 1:
        return (
            f"'{token}' is a single CLIP token ({clip_pieces[0]}): an existing word or name with a "
            "meaning the model already knows, so the identity competes with it."
        )
    if len(t5_pieces) == 1:
        return f"'{token}' is a single T5 token ({t5_pieces[0]}): an existing word or name for T5."
    vocabulary = tokenizers.clip.get_vocab()
    for piece in clip_pieces:
        word = piece.removesuffix("</w>")
        if len(word) >= _MEANINGFUL_PIECE_LETTERS and f"{word}</w>" in vocabulary:
            return f"'{token}' is built from the existing word '{word}', which carries its meaning into it."
    return None


def suggest_tokens(token: str, tokenizers: Tokenizers, count: int = 3) -> list[str]:
    """Rare, short, pronounceable alternatives that pass the same test."""
    stem = "".join(ch for ch in token.lower() if ch.isalpha())[:2]
    suggestions = []
    for first, second in itertools.permutations(_SYLLABLES, 2):
        candidate = f"{stem}{first}{second}"
        clip = tuple(tokenizers.clip.tokenize(candidate))
        t5 = tuple(p for p in tokenizers.t5.tokenize(candidate) if p != "▁")
        if _ambiguity(candidate, clip, t5, tokenizers) is None and 2 <= len(clip) <= 4:
            suggestions.append(candidate)
        if len(suggestions) == count:
            break
    return suggestions
