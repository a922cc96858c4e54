"""TEST DOUBLE of the stand-in engine venv's Python: ``python -m accelerate.commands.launch``.

The generated ``<engine>/venv/bin/python`` wrapper runs this file. For
``-m accelerate.commands.launch <accelerate options> SCRIPT args...`` it drops the accelerate
options and runs SCRIPT with this (the test venv's) Python as a child process, waiting for it as
accelerate's simple launcher does, so the runner supervises the same two-process tree
(launcher + trainer, one process group) as with the real engine. A failing child is reported
like accelerate does (``CalledProcessError``, exit code 1). Anything else (``-c ...``,
``--version``) is handed to the test venv's Python unchanged.
"""

import os
import subprocess
import sys

LAUNCH = ["-m", "accelerate.commands.launch"]


def main(args):
    if args[:2] != LAUNCH:
        os.execv(sys.executable, [sys.executable, *args])
    rest = args[2:]
    script_index = next(index for index, arg in enumerate(rest) if arg.endswith(".py"))
    command = [sys.executable, rest[script_index], *rest[script_index + 1 :]]
    process = subprocess.Popen(command)
    returncode = process.wait()
    if returncode != 0:
        sys.stderr.write(
            "subprocess.CalledProcessError: Command '[...flux_train_network.py...]' "
            f"returned non-zero exit status {returncode}.\n"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
