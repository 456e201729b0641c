"""``commops check``: validate the configuration and reach every configured service.

The Slack check is given by the caller (bot/app.py's ``check_slack``), so this module stays Slack-free.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import aclosing

from sqlalchemy import text

from bot.access.policy import load_policy
from bot.settings import Settings, SettingsError
from bot.store.engine import Store
from bot.vendors.capillary import CapillaryClient
from bot.vendors.comm import CommClient
from bot.vendors.errors import VendorError

Echo = Callable[[str], None]
Probe = Callable[[Settings], Awaitable[str]]  # a check: one line of detail when it passes; raises when it fails


async def run_checks(settings: Settings, echo: Echo, *, slack: Probe) -> bool:
    results = [
        await _check("Database", _database(settings), echo),
        await _check("Slack", slack(settings), echo),
        await _check("Capillary", _capillary(settings), echo),
    ]
    if settings.comm_configured:
        results.append(await _check("Comm", _comm(settings), echo))
    else:
        echo("-  Comm: off (COMM_API_TOKEN is not set): /campaign says so when used")
    if settings.alert_channel is None:
        echo("-  Alerts: off (ALERT_CHANNEL is not set)")
    if settings.access_policy is None:
        echo("-  Access policy: none (ACCESS_POLICY is not set): actions that change data are denied")
    else:
        results.append(await _check("Access policy", _access_policy(settings), echo))
    return all(results)


async def _access_policy(settings: Settings) -> str:
    assert settings.access_policy is not None
    policy = load_policy(settings.access_policy)
    return f"{settings.access_policy}: {len(policy.grants)} grants, valid"


async def _check(name: str, probe: Awaitable[str], echo: Echo) -> bool:
    try:
        detail = await probe
    except (SettingsError, VendorError) as error:
        echo(f"✗  {name}: {error}")
        return False
    except Exception as error:  # any other failure is still one line, never a traceback
        echo(f"✗  {name}: {type(error).__name__}: {error}")
        return False
    echo(f"✓  {name}: {detail}")
    return True


async def _database(settings: Settings) -> str:
    store = Store(settings.database_url)
    try:
        await store.start()
        async with store.session() as session:
            await session.execute(text("SELECT 1"))
    finally:
        await store.close()
    return f"{store.dialect} reachable, tables ready"


async def _capillary(settings: Settings) -> str:
    settings.require_capillary()
    async with aclosing(CapillaryClient.from_settings(settings, max_attempts=1)) as client:
        principal = await client.ping()
    return f"{settings.capillary_base_url} answered; signed in as {principal}"


async def _comm(settings: Settings) -> str:
    async with aclosing(CommClient.from_settings(settings, max_attempts=1)) as client:
        count = await client.ping()
    return f"{settings.comm_api_url} answered; the token's team has {count} SMS campaigns"
