#!/usr/bin/env python3
"""Set up and run commops with nothing but Python: ``python3 dev.py shell`` or ``python3 dev.py test``.

Creates ``.venv`` on first use, installs the project with its test tools, then runs the command in it.
Any further arguments go to the command (e.g. ``python3 dev.py test -k resend``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".commops-installed"


def _ensure_venv() -> None:
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("commops: creating .venv …", flush=True)
        try:
            if importlib.util.find_spec("ensurepip") is None:  # Debian and Ubuntu ship it in python3.X-venv
                raise FileNotFoundError("ensurepip")
            venv.EnvBuilder(with_pip=True).create(VENV)
        except (FileNotFoundError, subprocess.CalledProcessError):
            shutil.rmtree(VENV, ignore_errors=True)  # a half-made .venv would fail the same way next time
            version = f"{sys.version_info.major}.{sys.version_info.minor}"
            sys.exit(f"commops: this Python cannot create a virtual environment: run "
                     f"`sudo apt-get install python{version}-venv`, then try again")
    print("commops: installing dependencies (first run only) …", flush=True)
    subprocess.run([str(BIN / "python"), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([str(BIN / "python"), "-m", "pip", "install", "-q", "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("shell", "test", "lint"):
        print(__doc__)
        return 2
    _ensure_venv()
    command, rest = argv[0], argv[1:]
    if command == "shell":
        args = [str(BIN / "commops"), "shell", *rest]
    elif command == "test":
        args = [str(BIN / "python"), "-m", "pytest", *rest]
    else:
        steps = [[str(BIN / "ruff"), "check", "."], [str(BIN / "mypy")], [str(BIN / "lint-imports")]]
        return max(subprocess.run(step, cwd=ROOT).returncode for step in steps)
    return subprocess.run(args, cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
