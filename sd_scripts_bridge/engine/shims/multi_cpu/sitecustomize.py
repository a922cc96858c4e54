"""Imported by every Python of the ENGINE's process tree, and only for a CPU run with several processes.

The bridge puts this folder on the engine's ``PYTHONPATH`` in exactly that case (``plan/command.py``
``launch_environment``); sd-scripts' files are not touched, nor is anything vendored.

Why: accelerate 1.6's ``prepare_model`` wraps every prepared module in DistributedDataParallel on
the CPU (``DistributedType.MULTI_CPU``), while on GPUs (``MULTI_GPU``) it skips a module with no
parameter that requires a gradient (huggingface/accelerate#760). sd-scripts prepares the frozen
FLUX model that way, so on the CPU torch refuses it ("DistributedDataParallel is not needed when a
module doesn't have any parameter that requires a gradient"). Here a frozen module is prepared as
on a GPU: placed and wrapped for mixed precision, not put in DDP (``evaluation_mode=True`` does
exactly that). The LoRA network, which trains, is still wrapped in DDP and averaged over gloo.
"""

try:
    from accelerate import Accelerator
    from accelerate.utils import DistributedType
except ImportError:  # not the engine's Python (or no accelerate): nothing to adjust
    Accelerator = None

if Accelerator is not None:
    _prepare_model = Accelerator.prepare_model

    def _prepare_frozen_without_ddp(self, model, device_placement=None, evaluation_mode=False):
        frozen = not any(parameter.requires_grad for parameter in model.parameters())
        if self.distributed_type == DistributedType.MULTI_CPU and frozen:
            evaluation_mode = True
        return _prepare_model(self, model, device_placement=device_placement, evaluation_mode=evaluation_mode)

    Accelerator.prepare_model = _prepare_frozen_without_ddp
