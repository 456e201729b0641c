"""The ``commops`` command line: run, shell, sandbox, check, db, audit, alerts.

Each command imports what it needs when it runs: ``commops run`` binds its port and answers ``/healthz`` before it
loads Slack's SDK, the store and the vendor clients (bot/serving.py), and no command loads another's tools.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import click

if TYPE_CHECKING:
    from bot.alerts.importer import ImportReport
    from bot.audit.log import AuditEntry
    from bot.retention.prune import PruneReport
    from bot.serving import Loaded, SocketLink
    from bot.settings import Settings

EXIT_CONFIG = 2
Mode = Literal["socket", "http"]


def _settings() -> Settings:
    from bot.settings import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as error:
        _die(str(error))


def _die(message: str, code: int = EXIT_CONFIG) -> NoReturn:
    click.echo(f"commops: {message}", err=True)
    sys.exit(code)


def _devtools_missing(error: ModuleNotFoundError, command: str) -> NoReturn:
    """``shell`` and ``sandbox`` serve local web apps; a production install leaves their web stack out."""
    if (error.name or "").partition(".")[0] not in ("starlette", "uvicorn"):
        raise error
    _die(f"commops {command} needs the development tools, which are not installed: pip install 'commops[devtools]'")


def _run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    try:
        return asyncio.run(coroutine)
    except KeyboardInterrupt:
        return None
    except Exception as error:
        line, code = _explain(error)
        if line is None:
            raise
        _die(line, code)


def _explain(error: Exception) -> tuple[str | None, int]:
    """The one line (and exit status) for a failure the operator can fix; (None, 0) for anything else. The modules
    such errors come from are loaded by the time one is raised."""
    from bot.access.policy import UnknownAction
    from bot.settings import SettingsError
    from bot.store.schema import SchemaError

    if isinstance(error, SettingsError | UnknownAction | SchemaError):
        return str(error), EXIT_CONFIG
    if isinstance(error, OSError):  # e.g. the port is taken
        return f"{error.strerror or error}", 1
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(error, SQLAlchemyError):  # e.g. a SQLite path in a missing folder, a database that refuses us
        from bot.logs import redact

        cause = str(getattr(error, "orig", None) or error).splitlines()[0]
        return f"DATABASE_URL cannot be used: {redact(cause)}", EXIT_CONFIG
    return None, 0


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
# The installed distribution's version (importlib.metadata), so the wheel, the image and pyproject.toml agree.
@click.version_option(package_name="commops", prog_name="commops", message="%(prog)s %(version)s")
def main() -> None:
    """Slack chat-ops for Capillary and Comm customer messaging."""


@main.command()
@click.option("--mode", type=click.Choice(["socket", "http"]), default=None,
              help="Socket Mode (default when SLACK_APP_TOKEN is set) or HTTP.")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="HTTP port (default PORT or 3000).")
@click.option("--host", default="0.0.0.0", show_default=True,
              help="Interface to listen on (HTTP mode; in Socket Mode, for the health checks).")
def run(mode: Mode | None, port: int | None, host: str) -> None:
    """Serve Slack."""
    binding = _binding_from_environment(mode, port)
    settings = None
    if binding is None:  # the port or the mode may come from a .env file: read the settings first
        settings = _checked(mode)
        binding = _binding(settings, mode, port)
    _run(_serve(settings, binding, host, mode, port))


def _binding_from_environment(mode: Mode | None, port: int | None) -> tuple[Mode, int] | None:
    """The mode and the port to listen on, from the flags and the environment alone (so the port can be bound before
    the settings are read); None when a .env file may say otherwise."""
    if Path(".env").exists():
        return None
    chosen: Mode = mode or ("socket" if os.environ.get("SLACK_APP_TOKEN") else "http")
    raw = str(port) if port is not None and chosen == "http" else \
        os.environ.get("PORT" if chosen == "http" else "HEALTH_PORT", "3000" if chosen == "http" else "8080")
    return (chosen, int(raw)) if raw.isdigit() and 0 < int(raw) < 65536 else None


def _binding(settings: Settings, mode: Mode | None, port: int | None) -> tuple[Mode, int]:
    chosen: Mode = mode or ("socket" if settings.slack_app_token else "http")
    return chosen, (port or settings.port) if chosen == "http" else settings.health_port


def _checked(mode: Mode | None) -> Settings:
    """The settings, complete for serving Slack in ``mode`` (or the mode they choose); exits with one line if not."""
    from bot.logs import configure_logging, known_secrets
    from bot.settings import SettingsError

    settings = _settings()
    try:
        settings.require_slack(mode or ("socket" if settings.slack_app_token else "http"))
        settings.require_capillary()
    except SettingsError as error:
        _die(str(error))
    configure_logging(settings.log_level, known_secrets(settings), fmt=settings.log_format)
    return settings


def _load_the_bot() -> None:
    """Import Slack's SDK, the store and the vendor clients (off the event loop: /healthz answers meanwhile)."""
    import bot.app
    import bot.services  # noqa: F401


async def _serve(settings: Settings | None, binding: tuple[Mode, int], host: str, mode: Mode | None,
                 port: int | None) -> None:
    from bot.serving import Loaded, SocketLink, serve_health, serve_http

    while True:
        chosen, listen = binding
        loaded, link = Loaded(), SocketLink()
        server = serve_http(loaded, host=host, port=listen) if chosen == "http" else \
            serve_health(loaded, host=host, port=listen, socket_connected=link.connected)
        async with server as url:
            if settings is None:
                await asyncio.to_thread(_load_the_bot)
                settings = _loaded_settings(mode)
                if _binding(settings, mode, port) != binding:  # e.g. a lower-case port=… in the environment
                    binding = _binding(settings, mode, port)
                    continue
            await _serve_loaded(settings, chosen, url, loaded, link)
        return


def _loaded_settings(mode: Mode | None) -> Settings:
    from bot.logs import configure_logging, known_secrets
    from bot.settings import load_settings

    settings = load_settings()  # SettingsError: one line and exit status 2 (_run)
    settings.require_slack(mode or ("socket" if settings.slack_app_token else "http"))
    settings.require_capillary()
    configure_logging(settings.log_level, known_secrets(settings), fmt=settings.log_format)
    return settings


async def _serve_loaded(settings: Settings, mode: Mode, url: str, loaded: Loaded, link: SocketLink) -> None:
    from bot.app import build_app, close_app, start_alerts, start_approval_expiry, start_schedule
    from bot.retention.prune import start_retention
    from bot.services import build_services
    from bot.serving import DRAIN_SECONDS, stop_event_on_signals

    stop = stop_event_on_signals()
    services = await build_services(settings)
    if settings.access_policy is None:
        logging.getLogger("commops.access").warning(
            "ACCESS_POLICY is not set: every action that changes data (and audit.read) is denied until a policy "
            "grants it; read-only actions stay open")
    app = build_app(services)
    alert_scheduler = start_alerts(services, app.client)  # None, and a log line, when ALERT_CHANNEL is unset
    schedule_runner = start_schedule(services, app.client)  # None, and a log line, when Comm is not configured
    retention = start_retention(settings, services.store, clock=services.clock)  # alerts on or off
    expiry = start_approval_expiry(services, app.client)
    serving = logging.getLogger("commops.serving")
    try:
        loaded.attach(app, services)
        if mode == "socket":
            assert settings.slack_app_token is not None
            link.start(app, settings.slack_app_token.get_secret_value())
            serving.info("serving Slack in Socket Mode; /healthz, /readyz and /metrics at %s", url)
        else:
            serving.info("serving Slack over HTTP at %s/slack/events", url)
        await stop.wait()
        serving.info("stopping: no new requests; finishing those in progress")
        await link.close()
        await services.background.finish(DRAIN_SECONDS)  # then interrupt the rest while the store is open
    finally:
        if schedule_runner is not None:
            await schedule_runner.stop()
        await retention.stop()
        if expiry is not None:
            await expiry.stop()
        if alert_scheduler is not None:
            await alert_scheduler.stop()
        await close_app(app)
        await services.aclose()


@main.command()
def shell() -> None:
    """Talk to the bot in the terminal (no Slack workspace needed)."""
    try:
        from bot.devtools.shell.session import run_shell
    except ModuleNotFoundError as error:
        _devtools_missing(error, "shell")

    from bot.logs import known_secrets

    settings = _settings()
    _run(run_shell(settings, known_secrets(settings)))


@main.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
def sandbox(port: int, host: str) -> None:
    """Serve the local simulator of the Capillary and Comm APIs (seeded demo data)."""
    try:
        from bot.devtools.local_server import serve_asgi
        from bot.devtools.sandbox import DEMO, build_sandbox_app
    except ModuleNotFoundError as error:
        _devtools_missing(error, "sandbox")
    from bot.serving import stop_event_on_signals

    async def serve() -> None:
        stop = stop_event_on_signals()
        async with serve_asgi(build_sandbox_app(), host=host, port=port) as url:
            click.echo(f"sandbox serving Capillary at {url} and Comm at {url}/api")
            click.echo(DEMO.describe(url))
            await stop.wait()

    _run(serve())


@main.command()
def check() -> None:
    """Validate the configuration and reach every configured service."""
    from bot.app import check_slack
    from bot.checks import run_checks
    from bot.logs import configure_logging, known_secrets

    settings = _settings()
    configure_logging("ERROR", known_secrets(settings))
    ok = _run(run_checks(settings, click.echo, slack=check_slack))
    sys.exit(0 if ok else 1)


@main.group()
def db() -> None:
    """The database's schema: migrations (Alembic)."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the pending migrations (a database made before migrations is adopted: completed and stamped)."""
    from bot.store.schema import upgrade

    settings = _settings()
    result = _run(upgrade(settings.database_url))
    click.echo(result.describe())


@db.command("current")
def db_current() -> None:
    """Print the database's revision, or that it is empty or made before migrations."""
    from bot.store.schema import inspect_schema

    settings = _settings()
    click.echo(_run(inspect_schema(settings.database_url)).describe())


@db.command("check")
def db_check() -> None:
    """Exit 1 when the database is behind the code (or its audit log is not append-only)."""
    from bot.store.schema import inspect_schema

    settings = _settings()
    state = _run(inspect_schema(settings.database_url))
    click.echo(state.describe())
    sys.exit(0 if state.ok else 1)


@db.command("prune")
def db_prune() -> None:
    """Delete now what is past its retention (RETENTION_DAYS), as the running bot does every hour."""
    settings = _settings()
    report = _run(_prune(settings))
    click.echo(report.summary())


async def _prune(settings: Settings) -> PruneReport:
    from bot.retention.prune import Retention
    from bot.store.engine import Store
    from bot.store.schema import prepare

    store = Store(settings.database_url)
    try:
        await prepare(store, auto_upgrade=settings.db_auto_upgrade)
        return await Retention.from_settings(settings, store).run_once()
    finally:
        await store.close()


@main.command()
@click.option("--since", metavar="WHEN", help="Only entries since then: 2026-11-01, 2026-11-01T08:00 (UTC), or an "
              "age such as 24h, 7d, 30m.")
@click.option("--user", "users", multiple=True, metavar="U…", help="Only this Slack user id (repeatable).")
@click.option("--action", "actions", multiple=True, metavar="ACTION",
              help="Only this action, e.g. resend, or a family such as campaign.* (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--limit", type=click.IntRange(min=0), default=100, show_default=True,
              help="The most recent N matching entries; 0 for all.")
def audit(since: str | None, users: tuple[str, ...], actions: tuple[str, ...], fmt: str, limit: int) -> None:
    """Print the audit log from DATABASE_URL, oldest first."""
    from sqlalchemy.engine import make_url

    from bot.access.policy import ACTIONS, matches
    from bot.audit.report import parse_since, render

    settings = _settings()
    try:
        since_at = parse_since(since, datetime.now(UTC)) if since is not None else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--since") from None
    for action in actions:
        if not any(matches(action, known) for known in (*ACTIONS, "unknown")):
            raise click.BadParameter(f"{action!r} is not an action (known: {', '.join(ACTIONS)}, unknown; "
                                     "patterns such as campaign.*)", param_hint="--action")
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not Path(url.database).exists():  # connecting would create an empty database and show nothing
        _die(f"DATABASE_URL names {url.database}, which does not exist: run this where the bot runs, or set "
             "DATABASE_URL", 1)
    entries = _run(_read_audit(settings, since_at, users, actions, limit or None))
    click.echo(render(entries, fmt), nl=False)


async def _read_audit(settings: Settings, since: datetime | None, users: Sequence[str], actions: Sequence[str],
                      limit: int | None) -> list[AuditEntry]:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.audit.log import AuditLog
    from bot.store.engine import Store

    store = Store(settings.database_url)
    try:
        return await AuditLog(store).query(since=since, users=users, actions=actions, limit=limit)
    except SQLAlchemyError as error:  # no audit table yet, or the database is unreachable: one line, no URL
        _die(f"cannot read the audit log from DATABASE_URL ({type(error).__name__}: "
             f"{str(getattr(error, 'orig', error)).splitlines()[0]})", 1)
    finally:
        await store.close()


@main.group()
def alerts() -> None:
    """Undelivered-message alerts."""


@alerts.command("run-once")
def alerts_run_once() -> None:
    """Run one alert cycle now: poll the watch-list, post what is new to ALERT_CHANNEL."""
    from bot.app import run_alerts_once
    from bot.settings import SettingsError
    from bot.store.schema import SchemaError

    settings = _settings()
    if settings.alert_channel is None:
        _die("alerts are off: ALERT_CHANNEL is not set")
    try:
        report = asyncio.run(run_alerts_once(settings))
    except (SettingsError, SchemaError) as error:
        _die(str(error))
    click.echo(report.summary())
    sys.exit(1 if report.error else 0)


@alerts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def alerts_import(file: Path) -> None:
    """Queue the undelivered messages of an export (CSV with a header, or JSON lines); the next run posts them."""
    from bot.store.schema import SchemaError

    settings = _settings()
    try:
        report = asyncio.run(_import_alerts(settings, file))
    except SchemaError as error:
        _die(str(error))
    except (OSError, UnicodeDecodeError) as error:
        _die(f"cannot read {file}: {getattr(error, 'strerror', None) or error}", 1)
    for problem in report.problems:
        click.echo(f"{file}: {problem}: skipped", err=True)
    click.echo(f"{report.added} queued, {report.known} already known, {len(report.problems)} bad rows skipped "
               f"({report.rows} rows read)")
    sys.exit(1 if report.problems else 0)


async def _import_alerts(settings: Settings, file: Path) -> ImportReport:
    from bot.alerts.importer import import_file
    from bot.alerts.outbox import Outbox
    from bot.store.engine import Store
    from bot.store.schema import prepare

    store = Store(settings.database_url)
    try:
        await prepare(store, auto_upgrade=settings.db_auto_upgrade)
        return await import_file(file, Outbox(store), statuses=settings.alert_statuses, zone=settings.tz,
                                 now=datetime.now(UTC))
    finally:
        await store.close()
