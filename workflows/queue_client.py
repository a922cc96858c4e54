"""Queue an API-format workflow on one or more ComfyUI servers and follow it to the end.

Usage::

    python workflows/queue_client.py workflows/api/identity_fast.json --server http://127.0.0.1:8188 \\
        --set dataset=/path/to/photos --set token=ohwx --download ./results

``--set KEY=VALUE`` takes a named shortcut (``dataset``, ``token``, ``steps``, ... see
``--list-keys``) or ``NODE_ID.INPUT`` for any input of any node. Values are parsed as JSON when
they parse (numbers, booleans, lists), else kept as strings.

Exit codes: 0 every job succeeded; 1 a job was rejected by validation or failed while running;
2 bad command line, unreadable workflow or unreachable server; 130 cancelled with Ctrl-C (the
prompt is interrupted and removed from the queue).

This file only starts the client, which is the package ``workflows/api_client/``.
"""

import os
import sys

if __name__ == "__main__":
    # Run as a script, this file's folder comes first on sys.path; the package is imported from
    # the pack folder above it, as ``workflows.api_client``, whatever the current directory.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from workflows.api_client.cli import run_as_program

    sys.exit(run_as_program())
