"""deploy/compose.yaml and the files it reads, checked as a reviewer would (no Docker engine here to run it)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from bot.access.policy import parse_policy
from bot.settings import Settings
from tests.deploy.recipes import (
    DEPLOY,
    ROOT,
    dockerfile_stages,
    env_file,
    is_placeholder,
    known_settings,
    secret_settings,
    yaml_document,
)

COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / "commops.env.example"
_INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?::?[-?+][^}]*)?\}")


def _compose() -> dict[str, Any]:
    return yaml_document(COMPOSE)


def _service(name: str) -> dict[str, Any]:
    service: dict[str, Any] = _compose()["services"][name]
    return service


def _interpolate(value: str, **variables: str) -> str:
    """Compose's ${NAME}, ${NAME:?message}, ${NAME:-default} with the given variables."""
    return _INTERPOLATION.sub(lambda match: variables[match["name"]], value)


def _variables(value: str) -> set[str]:
    return {match["name"] for match in _INTERPOLATION.finditer(value)}


def _git_ignored(path: Path) -> bool:
    result = subprocess.run(["git", "check-ignore", "--quiet", str(path)], cwd=ROOT, check=False)
    return result.returncode == 0


def test_the_bot_and_postgres_15_with_a_named_volume() -> None:
    compose = _compose()
    assert set(compose["services"]) == {"bot", "postgres"}
    postgres = _service("postgres")
    assert postgres["image"] == "postgres:15"
    data = [volume for volume in postgres["volumes"] if volume.endswith(":/var/lib/postgresql/data")]
    assert len(data) == 1, "PostgreSQL's data folder is not on a volume: the database would die with the container"
    name = data[0].split(":")[0]
    assert not name.startswith((".", "/")), "expected a named volume"
    assert name in compose["volumes"]


def test_postgres_has_a_pg_isready_healthcheck_and_the_bot_waits_for_it() -> None:
    postgres = _service("postgres")
    check = postgres["healthcheck"]["test"]
    assert check[0] in ("CMD", "CMD-SHELL") and "pg_isready" in " ".join(check)
    environment = postgres["environment"]
    assert environment["POSTGRES_USER"] in check and environment["POSTGRES_DB"] in check
    assert _service("bot")["depends_on"] == {"postgres": {"condition": "service_healthy"}}


def test_the_bot_is_built_from_the_repository_dockerfile() -> None:
    build = _service("bot")["build"]
    context = (DEPLOY / build["context"]).resolve()
    assert context == ROOT
    assert (context / build.get("dockerfile", "Dockerfile")).is_file()


def test_the_bot_healthcheck_is_the_images_own() -> None:
    check = _service("bot")["healthcheck"]["test"]
    runtime = dockerfile_stages()[-1]
    assert check == ["CMD", *runtime.one("HEALTHCHECK").exec_form()]  # which test_dockerfile runs for real
    assert "$" not in "".join(check), "Compose would interpolate a $ in the check from the host's environment"


def test_database_url_points_at_the_postgres_service_with_asyncpg() -> None:
    bot, postgres = _service("bot"), _service("postgres")
    raw = bot["environment"]["DATABASE_URL"]
    password_variables = _variables(postgres["environment"]["POSTGRES_PASSWORD"])
    assert _variables(raw) == password_variables, "the bot and PostgreSQL should share one password variable"
    url = make_url(_interpolate(raw, **dict.fromkeys(password_variables, "s3cret")))
    assert url.drivername == "postgresql+asyncpg"
    assert url.host == "postgres" and (url.port or 5432) == 5432
    assert url.username == postgres["environment"]["POSTGRES_USER"]
    assert url.password == "s3cret"
    assert url.database == postgres["environment"]["POSTGRES_DB"]


def test_the_env_file_is_a_git_ignored_copy_of_a_committed_example() -> None:
    files = _service("bot")["env_file"]
    assert files == ["commops.env"]
    for name in files:
        assert (DEPLOY / f"{name}.example").is_file(), f"{name}: no {name}.example to copy it from"
        assert _git_ignored(DEPLOY / name), f"deploy/{name} holds secrets: it must be git-ignored"
    assert _git_ignored(DEPLOY / ".env"), "deploy/.env (POSTGRES_PASSWORD) must be git-ignored"


def test_the_access_policy_is_mounted_read_only_where_access_policy_points() -> None:
    bot = _service("bot")
    mounts = [volume for volume in bot["volumes"] if isinstance(volume, dict)]
    policy = [mount for mount in mounts if mount["target"] == bot["environment"]["ACCESS_POLICY"]]
    assert len(policy) == 1, "ACCESS_POLICY names no mounted file"
    assert policy[0]["type"] == "bind" and policy[0]["read_only"] is True
    assert policy[0]["bind"]["create_host_path"] is False
    source = DEPLOY / policy[0]["source"]
    assert Path(f"{source}.example").is_file() and _git_ignored(source)
    example = Path(f"{source}.example")
    assert parse_policy(example.read_text(), example.name).grants


def test_the_bot_container_is_locked_down() -> None:
    bot = _service("bot")
    assert bot["read_only"] is True and "/tmp" in bot["tmpfs"]
    assert bot["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in bot["security_opt"]
    assert set(bot["environment"]) <= known_settings()


def test_the_env_example_lists_exactly_the_settings_the_bot_knows() -> None:
    values, documented = env_file(ENV_EXAMPLE)
    assert not set(values) & documented, f"set and documented twice: {set(values) & documented}"
    listed = set(values) | documented
    assert not listed - known_settings(), f"not settings the bot reads: {listed - known_settings()}"
    assert not known_settings() - listed, f"settings the example does not document: {known_settings() - listed}"


def test_the_env_example_holds_no_real_secret() -> None:
    values, _ = env_file(ENV_EXAMPLE)
    for name in secret_settings() & set(values):
        assert is_placeholder(values[name]), f"{name}={values[name]!r} in a committed file: use REPLACE-ME"


@pytest.fixture
def settings_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in known_settings():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's


@pytest.mark.usefixtures("settings_environment")
def test_the_env_example_is_valid_as_it_stands() -> None:
    settings = Settings(_env_file=ENV_EXAMPLE)
    assert settings.slack_bot_token is not None and settings.capillary_base_url is not None


@pytest.mark.usefixtures("settings_environment")
def test_the_documented_defaults_are_the_bots_defaults(tmp_path: Path) -> None:
    _, documented = env_file(ENV_EXAMPLE)
    text = ENV_EXAMPLE.read_text()
    uncommented = tmp_path / "all.env"
    uncommented.write_text(re.sub(r"^#\s*(?=[A-Z][A-Z0-9_]*=)", "", text, flags=re.MULTILINE))
    settings = Settings(_env_file=uncommented)
    for name in documented & {field.upper() for field in Settings.model_fields}:
        default = Settings.model_fields[name.lower()].default
        if default is None:
            continue  # documented with an example value, not a default
        value = getattr(settings, name.lower())
        value = value.get_secret_value() if isinstance(value, SecretStr) else value
        assert value == default, f"{name}: the example says {value!r}, the bot's default is {default!r}"
