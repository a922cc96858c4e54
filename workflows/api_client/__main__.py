"""``python -m workflows.api_client`` (from the pack folder): the same command line as
``python workflows/queue_client.py``."""

import sys

from .cli import run_as_program

sys.exit(run_as_program())
