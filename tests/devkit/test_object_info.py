"""The one reading of /object_info that the workflow generator and the workflow check share."""

from __future__ import annotations

from devkit.object_info import frontend_inputs, input_specs, output_names

SAMPLER_LIKE = {
    "input": {
        "required": {
            "model": ["MODEL", {}],
            "seed": ["INT", {"default": 0}],
            "steps": ["INT", {"default": 20, "control_after_generate": False}],
            "sampler": [["euler", "ddim"], {"control_after_generate": True}],
            "text": ["STRING", {"multiline": True, "forceInput": True}],
        },
        "optional": {"image": [["a.png"], {"image_upload": True}], "strength": ["FLOAT", {}]},
        "hidden": {"prompt": "PROMPT"},
    },
    "input_order": {
        "required": ["model", "seed", "steps", "sampler", "text"],
        "optional": ["image", "strength"],
        "hidden": ["prompt"],
    },
    "output": ["LATENT", "IMAGE"],
    "output_name": ["samples", "preview"],
}


def test_inputs_come_in_the_servers_order_without_hidden_ones():
    specs = input_specs(SAMPLER_LIKE)
    assert [s.name for s in specs] == ["model", "seed", "steps", "sampler", "text", "image", "strength"]
    assert [s.optional for s in specs] == [False] * 5 + [True] * 2


def test_frontend_puts_sockets_before_widgets():
    names = [s.name for s in frontend_inputs(SAMPLER_LIKE)]
    assert names == ["model", "text", "seed", "steps", "sampler", "image", "strength"]


def test_widgets_and_the_values_the_frontend_stores_for_them():
    specs = {s.name: s for s in input_specs(SAMPLER_LIKE)}
    assert not specs["model"].is_widget and not specs["text"].is_widget  # a type, forceInput
    assert specs["seed"].stored_values == 2  # a seed gets control_after_generate by default
    assert specs["steps"].stored_values == 1  # switched off explicitly
    assert specs["sampler"].stored_values == 2 and specs["sampler"].combo_options == ["euler", "ddim"]
    assert specs["image"].stored_values == 2 and specs["image"].has_upload_widget
    assert specs["strength"].stored_values == 1 and specs["strength"].type_name == "FLOAT"


def test_output_names_fall_back_to_the_types():
    assert output_names(SAMPLER_LIKE) == ["samples", "preview"]
    assert output_names({"output": ["IMAGE"]}) == ["IMAGE"]
