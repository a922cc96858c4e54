"""Size caps on every text input and count caps on every list input of the pack's nodes.

On a shared server anyone who can queue a prompt sets every node input, and a node runs in
ComfyUI's own process: a parse that takes a second per kilobyte holds Python's interpreter lock
and with it the whole server (HTTP, the websocket, /interrupt). So each text input is measured
against its cap *before* it is parsed, the error never echoes the value, and every parse of these
inputs is linear (split at the first ``:``, sets for duplicates). docs/shared-server.md lists the
caps; ``tests/identity_core/test_input_limits.py`` keeps the page and these tables in step.

Each cap is far above what the input is for (a trigger token is one word; the fixed prompt set has
five lines) and far below what could hold the server.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

from .errors import IdentityError


@dataclass(frozen=True)
class TextCap:
    """At most ``chars`` characters; ``lines`` False: one line only."""

    chars: int
    why: str
    lines: bool = False


# Node input name -> its cap. Names shared by several nodes (trigger_token) have one cap.
TEXT_CAPS: dict[str, TextCap] = {
    "folder": TextCap(1024, "a folder path; Linux allows 4096 bytes, ComfyUI's folders sit far below"),
    "regularization_folder": TextCap(1024, "as folder"),
    "trigger_token": TextCap(64, "one rare made-up word; CLIP reads 77 tokens in all"),
    "class_word": TextCap(64, "one word or two (man, woman, person)"),
    "captions": TextCap(1024, "one caption; CLIP reads 77 tokens (about 300 characters)"),
    "output_name": TextCap(120, "a file name (the engine's run folder adds its key)"),
    "preview_prompt": TextCap(1024, "one prompt the engine samples; CLIP reads 77 tokens"),
    "advanced_settings": TextCap(8192, "a JSON object of profile settings (about 40 keys)", lines=True),
    "prompts": TextCap(
        16384, "the prompt set, at most 32 lines (the default set is 5 lines, 500 characters)", lines=True
    ),
    "strengths": TextCap(256, "a few numbers such as 0.5, 0.8, 1.0, 1.2"),
    "extra_loras": TextCap(4096, "at most 8 LoRA names, one per line", lines=True),
    "lora_file": TextCap(1024, "a LoRA path from TrainIdentityLoRA"),
}


@dataclass(frozen=True)
class CountCap:
    """At most ``count`` items; ``said`` words a count over the cap (``{count}`` is filled in) and
    ``source`` names the node input."""

    count: int
    why: str
    source: str
    said: str


COUNT_CAPS: dict[str, CountCap] = {
    "prompt lines": CountCap(
        32, "the evaluation protocol's set has five; each line is sampled at every strength and seed",
        "prompts", "The prompts input has {count} prompt lines",
    ),
    "prompt line characters": CountCap(
        1024, "one prompt; CLIP reads 77 tokens, T5 512", "prompts",
        "A line of the prompts input has {count} characters",
    ),
    "strengths": CountCap(
        8, "the design sweep has four, the probes add two", "strengths",
        "The strengths input has {count} values",
    ),
    "extra_loras": CountCap(
        8, "each LoRA file is a whole sweep", "extra_loras", "The extra_loras input names {count} LoRA files"
    ),
    "captions": CountCap(
        1000, "one per image; DatasetCheck looks at no more than 1000 entries", "captions",
        "The captions input holds {count} captions",
    ),
    "reference photos": CountCap(
        200, "15-30 training photos are asked for; each is decoded for the reference identity",
        "reference_dataset / reference_images", "The reference holds {count} photos",
    ),
    "sweep images": CountCap(
        512, "the defaults make 60 per LoRA file; each is held until the prompt ends",
        "prompts / strengths / seeds / extra_loras / images", "The sweep would hold {count} images",
    ),
    "sweep megapixels": CountCap(
        512, "the defaults make 63 at 1024 x 1024; held as 8-bit RGB (3 MB each) while sampling, and as "
        "ComfyUI's float IMAGE output (12 MB each) after",
        "width / height / prompts / strengths / seeds", "The sweep's images would hold {count} megapixels",
    ),
}  # fmt: skip

# Photos the pack holds for identity work are decoded at most this large (the long side): face
# detection runs at 320-640 px and face crops at 112-150 px, and DatasetCheck analyses at 1024 px.
IDENTITY_LONG_SIDE = 1024
# One caption the pack writes back into a user's caption file, in UTF-8 bytes.
WRITTEN_CAPTION_BYTES = 1024


class InputLimitError(IdentityError):
    """An input over its cap; the message gives the size and the cap, never the value."""


def check_text(name: str, value: object, cap: TextCap | None = None) -> str:
    """``value`` as text within its cap (``TEXT_CAPS[name]`` unless given); refused otherwise.

    Measured before any parsing: ``len`` of a Python string costs nothing, whatever its size.
    """
    cap = cap or TEXT_CAPS[name]
    if not isinstance(value, str):
        raise InputLimitError(
            f"The {name} input got a {type(value).__name__}, not text",
            f"connect or type text for {name}",
            name,
        )
    if len(value) > cap.chars:
        raise InputLimitError(
            f"The {name} input is {len(value):,} characters long, over this server's limit of "
            f"{cap.chars:,} ({cap.why})",
            f"shorten {name}; the limits are listed in the pack's docs/shared-server.md",
            name,
        )
    if not cap.lines and ("\n" in value or "\r" in value):
        raise InputLimitError(f"The {name} input spans several lines", f"write {name} on one line", name)
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: JSON can carry it, no file or tokenizer can
            raise InputLimitError(
                f"The {name} input holds characters that are not valid Unicode text",
                f"retype {name}",
                name,
            ) from None
    return value


def check_count(name: str, count: int) -> None:
    """``count`` items of a list input within its cap (``COUNT_CAPS[name]``)."""
    cap = COUNT_CAPS[name]
    if count > cap.count:
        raise InputLimitError(
            f"{cap.said.format(count=f'{count:,}')}, over this server's limit of {cap.count:,} ({cap.why})",
            f"use at most {cap.count:,}; the limits are listed in the pack's docs/shared-server.md",
            cap.source,
        )


def check_captions(values: list) -> None:
    """The captions input: a list with one caption per image, or one text with a caption per line;
    at most ``COUNT_CAPS["captions"]`` captions of at most ``TEXT_CAPS["captions"]`` characters."""
    check_count("captions", len(values))
    cap = TEXT_CAPS["captions"]
    whole = TextCap(COUNT_CAPS["captions"].count * (cap.chars + 1), "1000 captions, one per line", lines=True)
    for value in values:
        text = check_text("captions", value, whole if len(values) == 1 else TextCap(cap.chars, cap.why, True))
        lines = text.splitlines()
        check_count("captions", len(lines))
        if any(len(line) > cap.chars for line in lines):
            longest = max(len(line) for line in lines)
            raise InputLimitError(
                f"A caption of the captions input is {longest:,} characters long, over this server's limit "
                f"of {cap.chars:,} ({cap.why})",
                "shorten the captions; the limits are listed in the pack's docs/shared-server.md",
                "captions",
            )


def check_number(name: str, value: object, low: float, high: float) -> float:
    """A finite number from ``low`` to ``high``: NaN and infinities pass ComfyUI's own range check
    (every comparison with NaN is false), so each FLOAT input is checked again here."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputLimitError(
            f"The {name} input is {_shown(value)}, not a finite number",
            f"use a number from {low:g} to {high:g}",
            name,
        )
    if not low <= value <= high:
        raise InputLimitError(
            f"The {name} input is {value:g}, out of range", f"use a number from {low:g} to {high:g}", name
        )
    return float(value)


def check_word(name: str, value: object) -> str:
    """A trigger token, class word or file name: within its cap, one line, no control or format
    characters (a right-to-left override makes a name read as another)."""
    text = check_text(name, value)
    control = any(ord(character) < 32 or ord(character) == 0x7F for character in text)
    if control or (not text.isascii() and any(unicodedata.category(c)[0] == "C" for c in text)):
        raise InputLimitError(
            f"The {name} input contains control or format characters", f"type {name} as plain text", name
        )
    return text


def _shown(value: object) -> str:
    """A value in a message: its repr, cut short (a client's input is echoed, never at full size)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
