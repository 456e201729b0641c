"""``commops --version``: one line, the installed distribution's version, through the real console script."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _console_script() -> Path:
    script = Path(sys.executable).parent / ("commops.exe" if sys.platform == "win32" else "commops")
    assert script.exists(), f"the console script is not installed beside {sys.executable}: pip install -e ."
    return script


def _pyproject_version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


def test_version_is_one_line_from_the_installed_metadata(tmp_path: Path) -> None:
    result = subprocess.run([str(_console_script()), "--version"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"commops {version('commops')}\n"
    assert result.stdout == f"commops {_pyproject_version()}\n"
    assert result.stderr == ""


def test_python_m_bot_says_the_same(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "--version"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=30, check=False, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"commops {_pyproject_version()}\n"


def test_help_still_lists_the_commands_and_the_version_option(tmp_path: Path) -> None:
    result = subprocess.run([str(_console_script()), "--help"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert "--version" in result.stdout
    for command in ("run", "shell", "sandbox", "check", "audit", "alerts"):
        assert f"  {command}" in result.stdout
