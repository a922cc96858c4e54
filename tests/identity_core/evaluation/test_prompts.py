import pytest

from identity_core.evaluation.errors import EvaluationError
from identity_core.evaluation.prompts import (
    DEFAULT_PROMPTS_TEXT,
    DEFAULT_STRENGTHS_TEXT,
    parse_name_list,
    parse_prompts,
    parse_strengths,
)


def test_default_prompt_set_is_the_protocol_of_section_7():
    specs = parse_prompts(DEFAULT_PROMPTS_TEXT)
    assert [s.prompt_id for s in specs] == ["portrait", "environment", "outfit", "style", "control"]
    assert [s.role for s in specs] == ["identity", "identity", "identity", "style", "control"]
    assert [s.is_control for s in specs] == [False, False, False, False, True]
    rendered = [s.render("ohwx", "man") for s in specs]
    assert all("ohwx man" in text for text in rendered[:4])
    assert "ohwx" not in rendered[4] and "man" in rendered[4]
    assert all("{" not in text for text in rendered)


def test_lines_without_id_get_numbered_and_comments_are_skipped():
    specs = parse_prompts("# my set\n\n{token} {class_word} on a beach\nctl: a {class_word}\n")
    assert [(s.prompt_id, s.is_control) for s in specs] == [("prompt1", False), ("ctl", True)]
    assert specs[0].render("sks", "woman") == "sks woman on a beach"


def test_roles_are_explicit_or_inferred_from_the_id_and_the_token():
    specs = parse_prompts(
        "anime: {token} {class_word} as an anime character\n"
        "beach[identity]: a watercolour of {token} on a beach\n"
        "look[style]: {token} {class_word}, charcoal sketch\n"
        "crowd[control]: a crowd of people\n"
        "street: {token} {class_word} in the street\n"
    )
    assert [(s.prompt_id, s.role) for s in specs] == [
        ("anime", "style"),
        ("beach", "identity"),
        ("look", "style"),
        ("crowd", "control"),
        ("street", "identity"),
    ]
    assert specs[2].render("zyqux", "man") == "zyqux man, charcoal sketch"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("a: photo of a man\nb: a dog", "{token}"),
        ("a: {token}\na: {token} again", "twice"),
        ("style: an oil painting of {token}", "No identity prompt"),
        ("p[identity]: a photo of a man", "has no {token}"),
        ("c[control]: a photo of {token}", "contains {token}"),
        ("p[hero]: a photo of {token}", "unknown role [hero]"),
    ],
)
def test_bad_prompt_lists_say_what_to_do(text, fragment):
    with pytest.raises(EvaluationError) as caught:
        parse_prompts(text)
    assert fragment in str(caught.value) and "What to do" in str(caught.value)


def test_strengths_parse_sort_and_dedupe():
    assert parse_strengths(DEFAULT_STRENGTHS_TEXT) == [0.5, 0.8, 1.0, 1.2]
    assert parse_strengths("1.2;0.5  0.5,0") == [0.0, 0.5, 1.2]
    for bad in ("", "0.5, strong", "nan", "99"):
        with pytest.raises(EvaluationError):
            parse_strengths(bad)


def test_name_list_skips_blanks_comments_and_repeats():
    assert parse_name_list("a.safetensors\n\n# old\nb.safetensors\na.safetensors\n") == [
        "a.safetensors",
        "b.safetensors",
    ]
