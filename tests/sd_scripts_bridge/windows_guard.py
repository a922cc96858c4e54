"""``sd_scripts_bridge/engine/guard.py`` under the Windows stand-in (``windows_emulation.py``):
the runner starts this script in the guard's place while a test has the platform patched to
Windows, so the guard's Windows path runs too. Same arguments as the guard."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sd_scripts_bridge.engine import guard as engine_guard
from tests.sd_scripts_bridge.windows_emulation import install_here

if __name__ == "__main__":
    install_here()
    sys.exit(engine_guard.main(sys.argv[1:]))
