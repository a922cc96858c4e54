"""``python -m sd_scripts_bridge install|doctor|plan``."""

from .cli import main

raise SystemExit(main())
