"""dlib's 128-d face ResNet run by PyTorch, with dlib's own public-domain weights.

dlib-bin is built without BLAS, so its network takes about 100 ms per face on one core; the same
network and weights run by PyTorch take about a fifth of that, and PyTorch releases Python's lock,
so threads share the cores without helper processes. The output is dlib's (cosine to dlib's own
descriptor above 0.9999 on real faces; ``tests/identity_core/faces/test_dlib_resnet.py``), so the
dlib scale's thresholds and their sources stand.

The architecture is dlib's ``dnn_face_recognition_ex.cpp`` (``anet_type``): a 7x7 stride-2
convolution, 3x3 max pool, residual blocks of 32/64/128/256/256 filters (the first of each wider
level halves the size: its convolution strides 2 and the shortcut is a 2x2 average pool, zero-padded
to the wider output), a global average and a 128-d linear layer without bias. Each convolution is
followed by dlib's ``affine`` layer (batch norm folded into a per-channel scale and shift).

``read_dlib_weights`` reads the ``.dat`` file's layers in order (dlib writes a network from its
input upwards; a tensor is its shape and raw float32 values) and checks every shape against this
architecture, so a different file is refused rather than misread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .model import FaceBackendError

# input_rgb_image_sized<150>: (pixel - channel mean) / 256, in R, G, B order
CHANNEL_MEANS = (122.782, 117.001, 104.298)
# (filters, residual blocks, does the first block halve the size) from the input upwards
LEVELS = ((32, 3, False), (64, 4, True), (128, 3, True), (256, 3, True), (256, 1, True))
EMBEDDING_SIZE = 128


@dataclass(frozen=True)
class Convolution:
    weight: np.ndarray  # filters x channels x rows x cols
    bias: np.ndarray
    stride: int
    padding: int


@dataclass(frozen=True)
class DlibWeights:
    convolutions: list[Convolution]  # 29, in network order
    scales: list[tuple[np.ndarray, np.ndarray]]  # (gamma, beta) of the affine layer after each one
    projection: np.ndarray  # 256 x 128, the last layer (x @ projection)


class _Reader:
    """dlib's serialisation: integers are a control byte (size, 0x80 for negative) then that many
    little-endian bytes; strings are a length then the bytes; tensors a version, four dimensions
    and raw float32 values."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.path, self.position = data, path, 0

    def find(self, name: bytes) -> bool:
        """Move past the next layer called ``name`` (its length-prefixed name); False at the end."""
        marker = bytes([0x01, len(name)]) + name
        found = self.data.find(marker, self.position)
        if found < 0:
            return False
        self.position = found + len(marker)
        return True

    def integer(self) -> int:
        control = self.data[self.position]
        size = control & 0x0F
        value = int.from_bytes(self.data[self.position + 1 : self.position + 1 + size], "little")
        self.position += 1 + size
        return -value if control & 0x80 else value

    def tensor(self) -> np.ndarray:
        version = self.integer()
        shape = [self.integer() for _ in range(4)]
        if version != 2:
            raise self.error(f"tensor version {version} (expected 2)")
        count = int(np.prod(shape))
        end = self.position + 4 * count
        if end > len(self.data):
            raise self.error("a tensor runs past the end of the file")
        values = np.frombuffer(self.data, "<f4", count, self.position).astype(np.float32)
        self.position = end
        return values

    def error(self, what: str) -> FaceBackendError:
        return FaceBackendError(
            f"The dlib face model file does not have the expected layout ({what})",
            "reinstall the models: pip install --force-reinstall face_recognition_models",
            path=self.path,
        )


def read_dlib_weights(path: Path) -> DlibWeights:
    """The convolutions, affine layers and projection of ``dlib_face_recognition_resnet_model_v1.dat``."""
    reader = _Reader(Path(path).read_bytes(), Path(path))
    try:
        return _read_layers(reader)
    except (IndexError, ValueError) as exc:  # a file cut short or a shape that does not fit
        raise reader.error(f"unreadable at byte {reader.position}: {exc}") from exc


def _read_layers(reader: _Reader) -> DlibWeights:
    convolutions, scales = [], []
    for channels_in, filters, kernel in _expected_convolutions():
        if not reader.find(b"con_4"):
            raise reader.error(f"{len(convolutions)} convolutions, expected 29")
        params = reader.tensor()
        count, rows, cols, stride, _, padding, _ = (reader.integer() for _ in range(7))
        if (count, rows, cols) != (filters, kernel, kernel) or params.size != filters * (
            channels_in * kernel * kernel + 1
        ):
            raise reader.error(f"convolution {len(convolutions) + 1} is {count}x{rows}x{cols}")
        weight = params[:-filters].reshape(filters, channels_in, kernel, kernel)
        convolutions.append(Convolution(weight, params[-filters:], stride, padding))
        if not reader.find(b"affine_"):
            raise reader.error(f"no affine layer after convolution {len(convolutions)}")
        affine = reader.tensor()
        if affine.size != 2 * filters:
            raise reader.error(f"affine layer {len(scales) + 1} has {affine.size} values")
        scales.append((affine[:filters], affine[filters:]))
    if not reader.find(b"fc_2"):
        raise reader.error("no final linear layer")
    outputs, inputs = reader.integer(), reader.integer()
    projection = reader.tensor()
    if (outputs, inputs, projection.size) != (EMBEDDING_SIZE, 256, 256 * EMBEDDING_SIZE):
        raise reader.error(f"the final layer is {inputs}x{outputs}")
    return DlibWeights(convolutions, scales, projection.reshape(256, EMBEDDING_SIZE))


def _expected_convolutions() -> list[tuple[int, int, int]]:
    """(input channels, filters, kernel) of every convolution, from the input upwards."""
    shapes, channels = [(3, 32, 7)], 32
    for filters, blocks, _ in LEVELS:
        for _ in range(blocks):
            shapes += [(channels, filters, 3), (filters, filters, 3)]
            channels = filters
    return shapes


class DlibResNet:
    """The network in PyTorch (inference only); ``descriptors`` takes 150x150 RGB chips."""

    def __init__(self, weights: DlibWeights) -> None:
        import torch

        self._torch = torch
        tensor = lambda array: torch.from_numpy(np.ascontiguousarray(array))  # noqa: E731
        self._convolutions = [
            (tensor(c.weight), tensor(c.bias), c.stride, c.padding) for c in weights.convolutions
        ]
        self._scales = [(tensor(g).view(1, -1, 1, 1), tensor(b).view(1, -1, 1, 1)) for g, b in weights.scales]
        self._projection = tensor(weights.projection)
        self._means = torch.tensor(CHANNEL_MEANS).view(1, 3, 1, 1)

    @classmethod
    def from_file(cls, path: Path) -> DlibResNet:
        return cls(read_dlib_weights(path))

    def descriptors(self, chips: np.ndarray) -> np.ndarray:
        """128-d descriptors (not normalised, as dlib returns them) of N x 150 x 150 x 3 uint8 chips."""
        torch = self._torch
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(chips, np.uint8)).permute(0, 3, 1, 2).float()
            x = self._layer(0, (x - self._means) / 256.0).relu()
            x = torch.nn.functional.max_pool2d(x, 3, 2)
            index = 1
            for _, blocks, halves in LEVELS:
                for block in range(blocks):
                    x = self._residual(x, index, halves and block == 0)
                    index += 2
            x = x.mean(dim=(2, 3))
            return (x @ self._projection).numpy().astype(np.float32)

    def _layer(self, index: int, x):
        weight, bias, stride, padding = self._convolutions[index]
        gamma, beta = self._scales[index]
        return self._torch.nn.functional.conv2d(x, weight, bias, stride, padding) * gamma + beta

    def _residual(self, x, index: int, halves: bool):
        functional = self._torch.nn.functional
        y = self._layer(index + 1, self._layer(index, x).relu())
        if halves:
            x = functional.avg_pool2d(x, 2, 2)
        return _add_padded(x, y).relu()


def _add_padded(a, b):
    """dlib's ``add_prev``: the sum over the larger of each dimension, the smaller zero-padded."""
    total = a.new_zeros([max(p, q) for p, q in zip(a.shape, b.shape, strict=True)])
    total[: a.shape[0], : a.shape[1], : a.shape[2], : a.shape[3]] += a
    total[: b.shape[0], : b.shape[1], : b.shape[2], : b.shape[3]] += b
    return total


__all__ = ["DlibResNet", "DlibWeights", "read_dlib_weights"]
