"""The fixed prompt set of the evaluation protocol (docs/profiles.md, "Evaluation protocol"), with roles.

Each prompt has a role that says what it judges:

- ``identity`` (neutral portrait, new environment, new outfit): the trigger token must bring the
  person; these prompts decide the recommended strength against the identity target;
- ``style`` (new style): the identity must survive stylisation, judged against the lower style
  floor (face embedders score paintings lower than photos);
- ``control`` (no trigger token): the person must NOT appear (identity bleed).

A line is ``id: template`` or ``id[role]: template``. Without ``[role]`` the role is inferred:
a line without ``{token}`` is a control prompt, an id that starts with ``style`` (or names a
medium: painting, anime, sketch...) is a style prompt, everything else judges identity.
Templates use ``{token}`` and ``{class_word}``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..input_limits import check_count
from .errors import EvaluationError

TOKEN_FIELD = "{token}"
CLASS_FIELD = "{class_word}"

ROLE_IDENTITY = "identity"
ROLE_STYLE = "style"
ROLE_CONTROL = "control"
ROLES = (ROLE_IDENTITY, ROLE_STYLE, ROLE_CONTROL)
_STYLE_IDS = re.compile(
    r"^(style|painting|paint|oil|watercolou?r|anime|cartoon|sketch|drawing|illustration|comic|art)", re.I
)

DEFAULT_PROMPTS_TEXT = "\n".join(
    [
        "portrait: a photo of {token} {class_word}, neutral studio portrait, looking at the camera, "
        "soft even light",
        "environment: a photo of {token} {class_word} walking through a busy market street at dusk",
        "outfit: a photo of {token} {class_word} wearing a dark blue suit and a red tie",
        "style: an oil painting of {token} {class_word}, impressionist brush strokes",
        "control: a photo of a {class_word}, neutral studio portrait, looking at the camera, soft even light",
    ]
)
DEFAULT_STRENGTHS_TEXT = "0.5, 0.8, 1.0, 1.2"
# Strengths probed past the evaluation protocol's sweep when likeness still rises at its top and
# misses the target (users raise weak LoRAs to 2-3 in ComfyUI; an fp8 base can round deltas away).
PROBE_STRENGTHS = (1.5, 2.0)

_ID_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass(frozen=True)
class PromptSpec:
    prompt_id: str
    template: str
    role: str = ""  # "" = inferred from the id and the template

    def __post_init__(self) -> None:
        if not self.role:
            object.__setattr__(self, "role", infer_role(self.prompt_id, self.template))

    @property
    def is_control(self) -> bool:
        return self.role == ROLE_CONTROL

    def render(self, trigger_token: str, class_word: str) -> str:
        """Fill the fields with plain replacement (other braces in the text stay as they are)."""
        text = self.template.replace(TOKEN_FIELD, trigger_token).replace(CLASS_FIELD, class_word)
        return " ".join(text.split())


def infer_role(prompt_id: str, template: str) -> str:
    """The role of a line written without ``[role]``."""
    if TOKEN_FIELD not in template:
        return ROLE_CONTROL
    return ROLE_STYLE if _STYLE_IDS.match(prompt_id) else ROLE_IDENTITY


def parse_prompts(text: str) -> list[PromptSpec]:
    """One prompt per line, ``id: template`` or ``id[role]: template`` (the id is optional);
    ``#`` starts a comment line.

    Linear in the text: each line is split at its first ``:`` and ids are kept in a set (a
    backtracking pattern over a line of spaces once held a shared server for minutes). The text's
    size is capped by the node before this runs; the line count and length are capped here.
    """
    specs: list[PromptSpec] = []
    seen: set[str] = set()
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        check_count("prompt lines", len(specs) + 1)
        check_count("prompt line characters", len(line))
        spec = _parse_line(line, len(specs) + 1)
        if spec.prompt_id in seen:
            raise EvaluationError(
                f"The prompt id '{spec.prompt_id}' is used twice",
                "give every prompt line its own id ('id: prompt text')",
                "prompts",
            )
        seen.add(spec.prompt_id)
        specs.append(spec)
    if not specs:
        raise EvaluationError("The prompt list is empty", "enter one prompt per line", "prompts")
    if not any(spec.role == ROLE_IDENTITY for spec in specs):
        raise EvaluationError(
            "No identity prompt: no line with {token} judges the identity, so no strength can be chosen",
            "write {token} where the trigger token goes, e.g. 'portrait: a photo of {token} {class_word}'",
            "prompts",
        )
    return specs


def _parse_line(line: str, number: int) -> PromptSpec:
    head, colon, rest = line.partition(":")
    labelled = _id_and_role(head) if colon else None
    template = rest.strip()
    if labelled is None or not template:
        return PromptSpec(f"prompt{number}", line.strip())
    prompt_id, role = labelled
    if role and role not in ROLES:
        raise EvaluationError(
            f"The prompt '{prompt_id}' has the unknown role [{role}]",
            f"use one of [{'], ['.join(ROLES)}], or leave the role out to infer it",
            "prompts",
        )
    has_token = TOKEN_FIELD in template
    if role and (role == ROLE_CONTROL) == has_token:
        problem = "contains {token}" if has_token else "has no {token}"
        rule = "must not contain {token}" if role == ROLE_CONTROL else "needs {token}"
        raise EvaluationError(
            f"The prompt '{prompt_id}' is marked [{role}] but {problem}",
            f"a [{role}] prompt {rule}: fix the text or the role",
            "prompts",
        )
    return PromptSpec(prompt_id, template, role)


def _id_and_role(head: str) -> tuple[str, str] | None:
    """``id`` or ``id[role]`` (spaces allowed around each part) -> (id, lower-case role); None when
    ``head`` is not a label (the line is then a prompt without an id). String methods only."""
    head, role = head.strip(), ""
    if head.endswith("]"):
        opening = head.rfind("[")
        if opening < 0:
            return None
        role, head = head[opening + 1 : -1].strip(), head[:opening].rstrip()
        if not (role.isascii() and role.isalpha()):
            return None
    if not head or not all(character in _ID_CHARACTERS for character in head):
        return None
    return head, role.lower()


def parse_strengths(text: str) -> list[float]:
    """``"0.5, 0.8, 1.0, 1.2"`` -> sorted unique floats (commas, semicolons or spaces)."""
    values: set[float] = set()
    for part in re.split(r"[,;\s]+", text.strip()):
        if not part:
            continue
        try:
            value = float(part)
        except ValueError:
            raise EvaluationError(
                f"'{part}' is not a number", "list strengths like '0.5, 0.8, 1.0, 1.2'", "strengths"
            ) from None
        if not math.isfinite(value) or abs(value) > 10:
            raise EvaluationError(
                f"The strength {part} is out of range", "use strengths between -10 and 10", "strengths"
            )
        values.add(round(value, 4))
        check_count("strengths", len(values))
    if not values:
        raise EvaluationError("No strengths given", "list strengths like '0.5, 0.8, 1.0, 1.2'", "strengths")
    return sorted(values)


def parse_name_list(text: str, count_name: str = "extra_loras") -> list[str]:
    """Names one per line; blank lines and ``#`` comments are skipped, repeats dropped; at most
    ``COUNT_CAPS[count_name]`` names."""
    names: dict[str, None] = {}
    for line in text.splitlines():
        name = line.strip()
        if name and not name.startswith("#"):
            names[name] = None
            check_count(count_name, len(names))
    return list(names)
