"""Test-only ComfyUI nodes for the harness's own tests (loaded only when a test asks for them).

ComfyUI's core nodes cannot run a slow prompt with progress on a CPU without model files, so
the queue client's tests use these: a counter that reports progress, honours interruption and
emits the pack's training progress event, and a node that fails with a known message.
Loaded as a single-file custom node (``custom_nodes/harness_probe_nodes.py``).
"""

import time

TRAINING_EVENT = "identity_lora.progress"


class HarnessProbeCounter:
    CATEGORY = "harness probe"
    RETURN_TYPES = ("STRING",)
    FUNCTION = "count"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "steps": ("INT", {"default": 4, "min": 1, "max": 100000}),
                "delay": ("FLOAT", {"default": 0.05, "min": 0.0, "max": 10.0, "step": 0.01}),
                "label": ("STRING", {"default": "probe"}),
                "training_events": ("BOOLEAN", {"default": False}),
            }
        }

    @classmethod
    def IS_CHANGED(cls, **_inputs):
        return float("nan")  # always run: the tests need the progress messages every time

    def count(self, steps, delay, label, training_events):
        import comfy.model_management
        import comfy.utils
        from server import PromptServer

        bar = comfy.utils.ProgressBar(steps)
        for step in range(1, steps + 1):
            comfy.model_management.throw_exception_if_processing_interrupted()
            time.sleep(delay)
            bar.update_absolute(step, steps)
            if training_events:
                event = {
                    "step": step,
                    "total_steps": steps,
                    "loss": 1.0 / step,
                    "eta_s": (steps - step) * delay,
                }
                PromptServer.instance.send_sync(TRAINING_EVENT, event)
        text = f"{label}: counted {steps} steps"
        return {"ui": {"text": [text]}, "result": (text,)}


class HarnessProbeFail:
    CATEGORY = "harness probe"
    RETURN_TYPES = ()
    FUNCTION = "fail"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"message": ("STRING", {"default": "probe failure"})}}

    @classmethod
    def IS_CHANGED(cls, **_inputs):
        return float("nan")

    def fail(self, message):
        raise ValueError(message)


NODE_CLASS_MAPPINGS = {"HarnessProbeCounter": HarnessProbeCounter, "HarnessProbeFail": HarnessProbeFail}
