"""``commops alerts run-once`` and ``commops alerts import FILE``, and starting the job with the bot."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bot.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.alerts.job import AlertJob, AlertScheduler, CycleReport
    from bot.services import Services


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        click.echo(f"commops: {error}", err=True)
        sys.exit(2)


def start_alerts(services: Services, slack: AsyncWebClient, **kwargs: Any) -> AlertScheduler | None:
    """Build and start the scheduled job on the running loop; None (and a log line) when alerts are off."""
    from bot.alerts.job import AlertScheduler, build_alert_job
    from handlers.alerts.blocks import DIGEST

    job = build_alert_job(services.settings, capillary=services.capillary, store=services.store, slack=slack,
                          render=DIGEST, clock=services.clock, **kwargs)
    if job is None:
        return None
    scheduler = AlertScheduler(job, services.settings.alert_interval_seconds)
    scheduler.start()
    return scheduler


def slack_client(settings: Settings) -> AsyncWebClient:
    from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
    from slack_sdk.web.async_client import AsyncWebClient

    if settings.slack_bot_token is None:
        raise SettingsError("SLACK_BOT_TOKEN is not set: expected the bot token (xoxb-…) that posts the alerts")
    client = AsyncWebClient(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
    return client


@click.group()
def alerts() -> None:
    """Undelivered-message alerts."""


@alerts.command("run-once")
def run_once() -> None:
    """Run one alert cycle now: poll the watch-list, post what is new to ALERT_CHANNEL."""
    settings = _settings()
    if settings.alert_channel is None:
        click.echo("commops: alerts are off: ALERT_CHANNEL is not set", err=True)
        sys.exit(2)
    try:
        report = asyncio.run(_run_once(settings))
    except SettingsError as error:
        click.echo(f"commops: {error}", err=True)
        sys.exit(2)
    click.echo(report.summary())
    sys.exit(1 if report.error else 0)


async def _run_once(settings: Settings) -> CycleReport:
    from bot.alerts.job import build_alert_job
    from bot.services import build_services
    from handlers.alerts.blocks import DIGEST

    settings.require_capillary()
    slack = slack_client(settings)
    services = await build_services(settings)
    try:
        job: AlertJob | None = build_alert_job(settings, capillary=services.capillary, store=services.store,
                                               slack=slack, render=DIGEST)
        assert job is not None  # ALERT_CHANNEL was checked
        return await job.run_once()
    finally:
        await services.aclose()


@alerts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(file: Path) -> None:
    """Queue the undelivered messages of an export (CSV with a header, or JSON lines); the next run posts them."""
    settings = _settings()
    from bot.alerts.importer import import_file
    from bot.alerts.outbox import Outbox
    from bot.store.engine import Store

    async def run() -> Any:
        store = Store(settings.database_url)
        try:
            await store.start()
            return await import_file(file, Outbox(store), statuses=settings.alert_statuses, zone=settings.tz,
                                     now=datetime.now(UTC))
        finally:
            await store.close()

    try:
        report = asyncio.run(run())
    except (OSError, UnicodeDecodeError) as error:
        click.echo(f"commops: cannot read {file}: {getattr(error, 'strerror', None) or error}", err=True)
        sys.exit(1)
    for problem in report.problems:
        click.echo(f"{file}: {problem}: skipped", err=True)
    click.echo(f"{report.added} queued, {report.known} already known, {len(report.problems)} bad rows skipped "
               f"({report.rows} rows read)")
    sys.exit(1 if report.problems else 0)
