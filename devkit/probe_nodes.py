"""Test-only ComfyUI nodes for the harness's own tests (loaded only when a test asks for them).

ComfyUI's core nodes cannot run a slow prompt with progress on a CPU without model files, so
the queue client's tests use these: a counter that reports progress, honours interruption and
emits the pack's training progress event (as the pack does, to the prompt's client with its prompt
id; or broadcast without one, as another user's run looks), and a node that fails with a known
message.
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
            },
            "optional": {
                # the pack's old way: to every client, without a prompt id (as another user's run looks)
                "broadcast_events": ("BOOLEAN", {"default": False}),
            },
        }

    @classmethod
    def IS_CHANGED(cls, **_inputs):
        return float("nan")  # always run: the tests need the progress messages every time

    def count(self, steps, delay, label, training_events, broadcast_events=False):
        import comfy.model_management
        import comfy.utils
        from comfy_execution.utils import get_executing_context
        from server import PromptServer

        server = PromptServer.instance
        prompt_id, client_id = get_executing_context().prompt_id, server.client_id

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
                if broadcast_events:
                    server.send_sync(TRAINING_EVENT, event)
                elif client_id is not None:  # as the pack sends them: its own client, with the prompt id
                    server.send_sync(TRAINING_EVENT, {**event, "prompt_id": prompt_id}, client_id)
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
