"""A helper process that runs dlib's 128-d ResNet on face chips (started by ``dlib_encoder``).

Run as a plain script, ``python dlib_embedding_worker.py <model.dat>``: it imports only numpy and
dlib, never this pack or ComfyUI, so it starts the same way on Linux, macOS and Windows (no
``multiprocessing`` re-import of the host's main module). dlib holds Python's global lock while
it computes, so a second core can only be used from a second process.

Protocol on stdin/stdout (binary, little-endian): the worker writes one byte ``R`` when the model
is loaded; then for each request it reads a uint32 chip count N and N chips of 150x150x3 uint8
RGB, and answers with N x 128 float32 descriptors. End of input ends the worker, so it also
exits when its parent dies.
"""

from __future__ import annotations

import struct
import sys

CHIP_BYTES = 150 * 150 * 3
DESCRIPTOR_SIZE = 128
READY = b"R"


def _read_exactly(stream, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return bytes(data)
        data += chunk
    return bytes(data)


def serve(model_path: str) -> None:
    import dlib
    import numpy as np

    net = dlib.face_recognition_model_v1(model_path)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    stdout.write(READY)
    stdout.flush()
    while True:
        header = _read_exactly(stdin, 4)
        if len(header) < 4:
            return
        (count,) = struct.unpack("<I", header)
        data = _read_exactly(stdin, count * CHIP_BYTES)
        if len(data) < count * CHIP_BYTES:
            return
        chips = np.frombuffer(data, np.uint8).reshape(count, 150, 150, 3)
        descriptors = np.zeros((count, DESCRIPTOR_SIZE), np.float32)
        for index in range(count):
            descriptors[index] = net.compute_face_descriptor(np.ascontiguousarray(chips[index]))
        stdout.write(descriptors.tobytes())
        stdout.flush()


if __name__ == "__main__":
    serve(sys.argv[1])
