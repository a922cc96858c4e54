"""The fixed prompt set of the evaluation protocol (design document, section 7), with roles.

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
# Strengths probed past the design document's sweep when likeness still rises at its top and
# misses the target (users raise weak LoRAs to 2-3 in ComfyUI; an fp8 base can round deltas away).
PROBE_STRENGTHS = (1.5, 2.0)

_LINE_WITH_ID = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*(?:\[\s*([A-Za-z]+)\s*\])?\s*:\s*(.+?)\s*$")


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
    ``#`` starts a comment line."""
    specs: list[PromptSpec] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        specs.append(_parse_line(line, len(specs) + 1))
        if any(spec.prompt_id == specs[-1].prompt_id for spec in specs[:-1]):
            raise EvaluationError(
                f"The prompt id '{specs[-1].prompt_id}' is used twice",
                "give every prompt line its own id ('id: prompt text')",
                "prompts",
            )
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
    match = _LINE_WITH_ID.match(line)
    if not match:
        return PromptSpec(f"prompt{number}", line.strip())
    prompt_id, role, template = match.group(1), (match.group(2) or "").lower(), match.group(3)
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
    if not values:
        raise EvaluationError("No strengths given", "list strengths like '0.5, 0.8, 1.0, 1.2'", "strengths")
    return sorted(values)


def parse_name_list(text: str) -> list[str]:
    """Names one per line; blank lines and ``#`` comments are skipped, repeats dropped."""
    names: list[str] = []
    for line in text.splitlines():
        name = line.strip()
        if name and not name.startswith("#") and name not in names:
            names.append(name)
    return names
