"""Readers for the deployment recipes (Dockerfile, .dockerignore, env files) and what the bot knows of settings."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"

# Settings that DESIGN.md names but whose implementation lands separately (/readyz and /metrics on HEALTH_PORT in
# Socket Mode, Alembic migrations, JSON logs). The recipes set and document them already; once they are fields of
# bot.settings.Settings this set is simply redundant.
CONTRACT_SETTINGS = frozenset({"HEALTH_PORT", "DB_AUTO_UPGRADE", "LOG_FORMAT"})


def known_settings() -> set[str]:
    """Every environment variable the bot reads: the fields of bot.settings.Settings, plus CONTRACT_SETTINGS."""
    return {name.upper() for name in Settings.model_fields} | CONTRACT_SETTINGS


def secret_settings() -> set[str]:
    """The settings the model holds as secrets (SecretStr): tokens, passwords, keys."""
    return {name.upper() for name, info in Settings.model_fields.items() if "SecretStr" in str(info.annotation)}


def clean_environment(**values: str) -> dict[str, str]:
    """This process's environment without any bot setting, so a setting of the machine cannot leak into a test."""
    known = known_settings()
    env = {key: value for key, value in os.environ.items() if key not in known}
    return {**env, "PYTHONPATH": str(ROOT), **values}


PLACEHOLDER = "REPLACE-ME"


def is_placeholder(value: str) -> bool:
    return PLACEHOLDER in value


# --- Dockerfile ---------------------------------------------------------------------------------------------------

@dataclass
class Instruction:
    name: str  # upper case: FROM, RUN, COPY, ...
    text: str  # the arguments, continuation lines joined

    def words(self) -> list[str]:
        return shlex.split(self.text)

    def exec_form(self) -> list[str]:
        """The JSON array of an exec-form CMD, ENTRYPOINT or HEALTHCHECK … CMD."""
        start = self.text.index("[")
        loaded: list[str] = json.loads(self.text[start:])
        return loaded

    def flags(self) -> dict[str, str]:
        return dict(word[2:].split("=", 1) for word in self.words() if word.startswith("--") and "=" in word)


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, name: str) -> list[Instruction]:
        return [instruction for instruction in self.instructions if instruction.name == name]

    def one(self, name: str) -> Instruction:
        found = self.all(name)
        assert len(found) == 1, f"expected one {name} in the stage FROM {self.image}, found {len(found)}"
        return found[0]


def dockerfile_instructions(text: str) -> list[Instruction]:
    instructions: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):  # a comment inside a continued instruction is dropped
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        name, _, rest = whole.partition(" ")
        instructions.append(Instruction(name.upper(), rest.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def dockerfile_stages(path: Path | None = None) -> list[Stage]:
    stages: list[Stage] = []
    for instruction in dockerfile_instructions((path or ROOT / "Dockerfile").read_text()):
        if instruction.name == "FROM":
            words = [word for word in instruction.words() if not word.startswith("--")]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        else:
            assert stages, f"{instruction.name} before the first FROM"
            stages[-1].instructions.append(instruction)
    return stages


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def dockerignored(relative: str, patterns: list[str] | None = None) -> bool:
    """Whether Docker leaves ``relative`` (a path from the repository root) out of the build context.

    Follows the documented rules closely enough for this repository: patterns are matched against the path and
    each of its parent folders, ``**/`` matches any number of folders, a later ``!pattern`` re-includes.
    """
    parts = relative.strip("/").split("/")
    candidates = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    ignored = False
    for pattern in patterns if patterns is not None else dockerignore_patterns():
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        forms = [pattern]
        while forms[-1].startswith("**/"):
            forms.append(forms[-1][3:])
        hit = any(fnmatch.fnmatchcase(candidate, form) or
                  (form != pattern and fnmatch.fnmatchcase(candidate, "*/" + form))
                  for candidate in candidates for form in forms)
        if hit:
            ignored = not negate
    return ignored


# --- env files and YAML -------------------------------------------------------------------------------------------

_ENV_LINE = re.compile(r"^(?P<comment>#\s*)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


def env_file(path: Path) -> tuple[dict[str, str], set[str]]:
    """(the settings a file sets, the settings it documents only as ``# NAME=default``)."""
    values: dict[str, str] = {}
    documented: set[str] = set()
    for line in path.read_text().splitlines():
        match = _ENV_LINE.match(line.strip())
        if match is None:
            continue
        name = match["name"]
        assert name not in values, f"{path.name}: {name} is set twice"
        if match["comment"]:
            documented.add(name)
        else:
            values[name] = match["value"]
    return values, documented


def yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document is not None]


def yaml_document(path: Path) -> dict[str, Any]:
    documents = yaml_documents(path)
    assert len(documents) == 1, f"{path}: expected one YAML document, found {len(documents)}"
    return documents[0]
