"""``python -m sd_scripts_bridge install|doctor|plan``."""

from .cli.main import main

raise SystemExit(main())
