"""What a prompt produced: its texts and result fields printed, its images downloaded safely."""

from __future__ import annotations

import io
import os

from workflows.api_client.results import (
    PromptRun,
    download_images,
    download_name,
    print_results,
    result_fields,
)


def test_results_print_texts_and_the_recommendation():
    run = PromptRun("p")
    run.history = {
        "outputs": {
            "5": {
                "text": ["identity kept up to strength 1.0"],
                "images": [{"filename": "grid.png", "subfolder": "", "type": "temp"}],
                "identity_report": [
                    {"path": "/out/report.json", "strength": 0.8, "lora_name": "anna.safetensors"}
                ],
            }
        }
    }
    out = io.StringIO()
    print_results(run, {"5": {"class_type": "ArcFaceScore"}}, out)
    assert out.getvalue().splitlines() == [
        "#5 ArcFaceScore: identity kept up to strength 1.0",
        "#5 ArcFaceScore: LoRA = anna.safetensors",
        "#5 ArcFaceScore: recommended strength = 0.8",
        "#5 ArcFaceScore: report = /out/report.json",
    ]


def test_result_fields_name_a_best_effort_strength():
    passed = {"identity_report": [{"strength": 0.8, "passed": True, "path": "/r.json"}]}
    failed = {"identity_report": [{"strength": 0.5, "passed": False, "path": "/r.json"}]}
    assert ("recommended strength", 0.8) in result_fields(passed)
    labels = dict((value, label) for label, value in result_fields(failed))
    assert labels[0.5].startswith("best-effort strength") and labels["/r.json"] == "report"


def test_downloads_stay_in_their_folder_and_never_overwrite(tmp_path):
    assert download_name({"filename": "../../etc/passwd", "subfolder": ""}) == "etc_passwd"
    assert download_name({"filename": "/abs/x.png", "subfolder": "../.."}) == "abs_x.png"
    assert download_name({"filename": "..", "subfolder": ""}) == "image"

    class FakeClient:
        def view(self, filename, subfolder, folder_type):
            return f"{subfolder}/{filename}".encode()

    run = PromptRun("p", history={"outputs": {"1": {"images": [
        {"filename": "../../escape.png", "subfolder": "", "type": "output"},
        {"filename": "grid.png", "subfolder": "a/b", "type": "temp"},
    ]}}})  # fmt: skip
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "escape.png").write_text("mine")
    (tmp_path / "victim").write_text("outside")
    (folder / "a_b_grid.png").symlink_to(tmp_path / "victim")
    written = download_images(FakeClient(), run, str(folder))
    assert [os.path.basename(p) for p in written] == ["escape_1.png", "a_b_grid_1.png"]
    assert (folder / "escape.png").read_text() == "mine" and (tmp_path / "victim").read_text() == "outside"
    assert not list(tmp_path.glob("escape*"))
