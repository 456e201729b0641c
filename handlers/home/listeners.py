"""The Home tab: published for a person when they open it (``app_home_opened``) and when they press Refresh.

Both go through the authorize middleware like every request (they are open to every member: each person sees only
what concerns them, judged by the same access check). Publishing is idempotent, so an event Slack retries, or two
quick Refresh clicks, only draw the same tab again.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.actor import Actor
from bot.home.sources import HomeSources
from bot.services import Services
from handlers.home.sections import REFRESH, HomeContext, compose, home_view
from handlers.middleware.authorize import OPEN, Routes
from handlers.middleware.early_ack import Listeners

log = logging.getLogger("commops.handlers.home")

HOME_OPENED = "app_home_opened"
ROUTES = Routes(events={HOME_OPENED: OPEN}, actions={REFRESH: OPEN})


def sources_of(services: Services) -> HomeSources:
    return HomeSources(access=services.access, audit=services.audit, store=services.store, comm=services.comm,
                       campaigns=services.campaigns, schedule=services.schedule,
                       alert_channel=services.settings.alert_channel, approvals=services.approvals)


async def home_blocks(services: Services, user_id: str) -> list[dict[str, Any]]:
    """The Home tab's blocks for ``user_id`` now (the shell renders these too)."""
    return await compose(HomeContext(user_id, services.clock(), sources_of(services)))


async def publish(services: Services, client: AsyncWebClient, user_id: str) -> None:
    view = home_view(await home_blocks(services, user_id))
    try:
        await client.views_publish(user_id=user_id, view=view)
    except Exception as error:  # nobody to tell: the tab keeps its last version, the next open tries again
        log.warning("could not publish the Home tab for %s: %s", user_id, type(error).__name__)


def register(app: Listeners, services: Services) -> None:
    @app.event(HOME_OPENED)
    async def home_opened(ack: AsyncAck, event: dict[str, Any], actor: Actor, client: AsyncWebClient) -> None:
        await ack()
        if event.get("tab", "home") != "home":  # the Messages tab: nothing to draw
            return
        await publish(services, client, actor.user_id)

    @app.action(REFRESH)
    async def refresh(ack: AsyncAck, actor: Actor, client: AsyncWebClient) -> None:
        await ack()
        await publish(services, client, actor.user_id)
