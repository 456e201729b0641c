"""The Dockerfile, read the way a reviewer would: no Docker engine is needed (or available) to run these.

What can be run without one is: the builder stage's own command, on exactly the files it copies, must give a wheel
that holds the whole application; and the image's HEALTHCHECK command, run as the image would run it, must pass
against a running bot and fail without one.
"""

from __future__ import annotations

import asyncio
import email
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from packaging.specifiers import SpecifierSet

from bot.devtools.local_server import free_port
from bot.devtools.sandbox import DEMO
from tests.conftest import Sandbox
from tests.deploy.recipes import (
    ROOT,
    Stage,
    clean_environment,
    dockerfile_stages,
    dockerignore_patterns,
    dockerignored,
)

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _stages() -> tuple[Stage, Stage]:
    stages = dockerfile_stages()
    assert len(stages) >= 2, "expected a builder stage and a runtime stage"
    return stages[0], stages[-1]


def _copies(stage: Stage, *, from_stage: bool) -> list[list[str]]:
    """The source paths of each COPY/ADD of a stage (the last word is the destination)."""
    found = []
    for instruction in stage.all("COPY") + stage.all("ADD"):
        if ("from" in instruction.flags()) == from_stage:
            found.append([word for word in instruction.words() if not word.startswith("--")][:-1])
    return found


def _runtime_pip_install() -> str:
    _, runtime = _stages()
    installs = [run.text for run in runtime.all("RUN") if re.search(r"\bpip3? install\b", run.text)]
    assert len(installs) == 1, f"expected one pip install in the runtime stage, found {installs}"
    return installs[0]


def test_both_stages_are_python_3_11_slim_which_pyproject_allows() -> None:
    build, runtime = _stages()
    assert build.name, "the builder stage needs a name for COPY --from"
    for stage in (build, runtime):
        assert stage.image == "python:3.11-slim"
    assert "3.11" in SpecifierSet(PYPROJECT["project"]["requires-python"])


def test_the_builder_stage_builds_the_wheel_from_the_project_only() -> None:
    build, _ = _stages()
    commands = [run.text for run in build.all("RUN")]
    assert any(re.search(r"\bpip wheel\b.*--no-deps\b", command) for command in commands), commands


def test_the_builder_copies_everything_the_wheel_is_built_from() -> None:
    build, _ = _stages()
    copied = {Path(source).as_posix().strip("/") for sources in _copies(build, from_stage=False)
              for source in sources}
    needed = {"pyproject.toml", PYPROJECT["project"]["readme"]}
    needed |= {pattern.rstrip("*") for pattern in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert needed <= copied, f"the builder stage does not COPY {needed - copied}"


def test_every_copied_path_exists_and_is_in_the_build_context() -> None:
    patterns = dockerignore_patterns()
    for stage in _stages():
        for sources in _copies(stage, from_stage=False):
            for source in sources:
                path = ROOT / source
                assert path.exists(), f"COPY {source}: no such file in the repository"
                assert not dockerignored(source, patterns), f"COPY {source}: .dockerignore leaves it out"
                for inner in (path.rglob("*.py") if path.is_dir() else []):
                    relative = inner.relative_to(ROOT).as_posix()
                    assert not dockerignored(relative, patterns), f".dockerignore leaves out {relative}"


def test_the_dockerignore_keeps_local_and_secret_files_out() -> None:
    patterns = dockerignore_patterns()
    for path in (".git", ".venv", ".venv/bin/python", ".pytest_cache", ".mypy_cache", ".ruff_cache",
                 "bot/__pycache__/cli.cpython-311.pyc", "commops.db", "data/commops.db", ".env", "tests",
                 "deploy/commops.env", "build", "dist", "commops.egg-info"):
        assert dockerignored(path, patterns), f".dockerignore lets {path} into the build context"


def test_the_runtime_stage_installs_the_built_wheel_with_the_postgres_extra_only() -> None:
    build, runtime = _stages()
    from_build = [instruction for instruction in runtime.all("COPY") if instruction.flags().get("from")]
    assert from_build and {instruction.flags()["from"] for instruction in from_build} == {build.name}
    assert not _copies(runtime, from_stage=False), "the runtime stage copies sources: it should install the wheel"
    command = _runtime_pip_install()
    assert "commops-*.whl" in command, "the runtime stage should install the wheel by its path"
    extras = re.findall(r"\[([\w,\s-]+)\]", command)
    assert extras == ["postgres"], f"expected exactly the postgres extra, got {extras}"
    for word in ("-e ", "--editable", "devtools", "[dev", "-r ", "requirements"):
        assert word not in command


def test_the_runtime_runs_as_a_non_root_user_it_creates() -> None:
    _, runtime = _stages()
    users = runtime.all("USER")
    assert users, "no USER: the bot would run as root"
    user = users[-1].text.split(":")[0]
    assert user.isdigit() and int(user) != 0, "USER should be a numeric non-root uid (Kubernetes runAsNonRoot " \
                                              "can only verify a number)"
    creates = " ".join(run.text for run in runtime.all("RUN"))
    assert re.search(rf"useradd\b.*--uid {user}\b", creates), f"no useradd creates uid {user}"
    names = [instruction.name for instruction in runtime.instructions]
    assert names.index("USER") > max(index for index, name in enumerate(names) if name == "RUN"), \
        "a RUN after USER would run as the bot's user; the install steps should come first"


def test_the_working_directory_is_writable_by_the_bot_for_the_default_sqlite_file() -> None:
    _, runtime = _stages()
    workdir = runtime.all("WORKDIR")[-1].text
    user = runtime.all("USER")[-1].text.split(":")[0]
    runs = " ".join(run.text for run in runtime.all("RUN"))
    assert re.search(rf"chown (commops|{user})(:\S+)? {re.escape(workdir)}\b", runs), \
        f"WORKDIR {workdir} is not chowned to the bot's user: the default SQLite file cannot be created"
    homes = [env.text for env in runtime.all("ENV") if env.text.startswith("HOME=")]
    assert homes == [f"HOME={workdir}"], "HOME should be the bot's own folder (asyncpg reads ~/.postgresql/)"


def test_entrypoint_cmd_expose_and_healthcheck() -> None:
    _, runtime = _stages()
    assert runtime.one("ENTRYPOINT").exec_form() == ["commops"]
    assert runtime.one("CMD").exec_form() == ["run"]
    exposed = {word.split("/")[0] for expose in runtime.all("EXPOSE") for word in expose.words()}
    assert exposed == {"3000", "8080"}
    check = runtime.one("HEALTHCHECK").exec_form()
    assert check[:2] == ["python", "-c"], "the health check should need nothing but the image's Python"
    assert "/healthz" in check[2] and "127.0.0.1" in check[2]


def healthcheck_command() -> list[str]:
    """The image's HEALTHCHECK, with the image's ``python`` being this interpreter."""
    _, runtime = _stages()
    check = runtime.one("HEALTHCHECK").exec_form()
    return [sys.executable, *check[1:]]


async def _run_healthcheck(**env: str) -> int:
    process = await asyncio.create_subprocess_exec(*healthcheck_command(), env=clean_environment(**env),
                                                   stdout=asyncio.subprocess.DEVNULL,
                                                   stderr=asyncio.subprocess.DEVNULL)
    return await asyncio.wait_for(process.wait(), timeout=15)


async def test_the_healthcheck_passes_against_the_running_bot_and_fails_once_it_stops(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # As in the image: `commops run` with no flags, its port from PORT, the SQLite file in the working directory.
    port = free_port()
    env = clean_environment(SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="secret", CAPILLARY_BASE_URL=sandbox.url,
                      CAPILLARY_USERNAME=DEMO.capillary_username, CAPILLARY_PASSWORD=DEMO.capillary_password,
                      PORT=str(port))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--host", "127.0.0.1", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        for _ in range(100):
            if await _run_healthcheck(PORT=str(port)) == 0:
                break
            assert process.returncode is None, "the bot exited"
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the HEALTHCHECK never passed against the running bot")
        # /healthz answers while the bot still loads (liveness); the store comes a moment later.
        for _ in range(100):
            if (tmp_path / "commops.db").exists():
                break
            await asyncio.sleep(0.1)
        assert (tmp_path / "commops.db").exists(), "the default SQLite file belongs in the working directory"
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), timeout=15)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert await _run_healthcheck(PORT=str(port)) != 0


@asynccontextmanager
async def _health_stub(status: int) -> AsyncIterator[int]:
    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok" if status == 200 else "unavailable"}, status=status)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield port
    finally:
        await runner.cleanup()


async def test_the_healthcheck_asks_health_port_in_socket_mode_and_fails_on_503() -> None:
    unused = str(free_port())
    async with _health_stub(200) as port:
        assert await _run_healthcheck(SLACK_APP_TOKEN="xapp-1", HEALTH_PORT=str(port), PORT=unused) == 0
        assert await _run_healthcheck(HEALTH_PORT=str(port), PORT=unused) != 0  # HTTP mode: asks PORT
        assert await _run_healthcheck(SLACK_APP_TOKEN="", HEALTH_PORT=str(port), PORT=unused) != 0  # blank = unset
    async with _health_stub(503) as port:
        assert await _run_healthcheck(PORT=str(port)) != 0


def _build_like_the_builder_stage(tmp_path: Path) -> Path:
    """Copy what the builder stage copies (less what .dockerignore leaves out) and run its RUN commands."""
    build, _ = _stages()
    context = tmp_path / "context"
    patterns = dockerignore_patterns()
    for sources in _copies(build, from_stage=False):
        for source in sources:
            origin = ROOT / source
            if origin.is_dir():
                shutil.copytree(origin, context / source, ignore=lambda folder, names: [
                    name for name in names
                    if dockerignored((Path(folder) / name).relative_to(ROOT).as_posix(), patterns)])
            else:
                (context / source).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, context / source)
    dist = tmp_path / "dist"
    for run in build.all("RUN"):
        words = [str(dist) if word == "/dist" else word for word in shlex.split(run.text)]
        assert words[0] == "pip", f"unexpected builder step: {run.text}"
        result = subprocess.run([sys.executable, "-m", *words], cwd=context, capture_output=True, text=True,
                                timeout=300, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
    wheels = list(dist.glob("commops-*.whl"))  # the pattern the runtime stage installs
    assert len(wheels) == 1, f"expected one commops wheel, found {wheels}"
    return wheels[0]


@pytest.mark.timeout(300)
def test_the_builder_stage_makes_a_wheel_with_the_whole_application(tmp_path: Path) -> None:
    wheel = _build_like_the_builder_stage(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = next(name for name in names if name.endswith(".dist-info/METADATA"))
        metadata = email.message_from_string(archive.read(info).decode())
        entry_points = archive.read(info.replace("METADATA", "entry_points.txt")).decode()
    tracked = subprocess.run(["git", "ls-files", "bot", "handlers"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    missing = sorted(path for path in tracked if path not in names)
    assert not missing, f"the wheel leaves out files the application needs (package data?): {missing}"
    assert re.search(r"^commops = bot\.cli:main$", entry_points, re.MULTILINE)
    requires = metadata.get_all("Requires-Dist") or []
    assert any(line.startswith("asyncpg") and 'extra == "postgres"' in line for line in requires)
    unconditional = {re.split(r"[\s<>=!~\[;]", line)[0].lower() for line in requires if "extra ==" not in line}
    assert not unconditional & {"starlette", "uvicorn", "pytest", "mypy", "ruff"}, unconditional
