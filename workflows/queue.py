"""The API client's old name, kept for one release: use ``workflows/queue_client.py``.

``python workflows/queue.py ...`` runs ``workflows/queue_client.py`` with the same arguments (and
says so on stderr); ``from workflows.queue import ComfyClient`` still finds the client's public
names (with a DeprecationWarning). This file goes in the next release: its name shadows the
standard library's ``queue`` module, which is why the client was renamed.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    # Run as a script, this file's folder is sys.path[0], and this file would stand in for the
    # standard library's ``queue`` in every later import (concurrent.futures, logging...).
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
    print(
        "workflows/queue.py is now workflows/queue_client.py; the old name goes in the next release",
        file=sys.stderr,
        flush=True,
    )
    import runpy

    runpy.run_path(os.path.join(_here, "queue_client.py"), run_name="__main__")
else:
    import warnings

    from workflows.queue_client import *  # noqa: F403  (the client's public names, under the old name)

    warnings.warn(
        "workflows.queue is now workflows.queue_client; the old name goes in the next release",
        DeprecationWarning,
        stacklevel=2,
    )
