"""Telling a channel what a scheduled pause or resume did (the Reporter of bot/schedule/report.py), with the bot's
Web API client: chat.postMessage in the channel it was scheduled in, drawn by handlers/campaign/schedule_blocks.py.
A channel that refuses the post (the bot was removed from it, say) gets the outcome as a direct message to the
person who scheduled it instead; if that fails too, the error is raised and the runner tries again later."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.schedule.report import RunReport
from handlers.campaign.schedule_blocks import run_message

log = logging.getLogger("commops.schedule")


class SlackScheduleReporter:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def report(self, report: RunReport) -> None:
        text, blocks = run_message(report)
        if report.channel_id:
            try:
                await self._client.chat_postMessage(channel=report.channel_id, text=text, blocks=blocks)
                return
            except SlackApiError as error:
                log.warning("schedule: %s refused the outcome of %s (%s); telling %s directly", report.channel_id,
                            report.action_id, error.response.get("error"), report.scheduler_id)
        await self._client.chat_postMessage(channel=report.scheduler_id, text=text, blocks=blocks)
