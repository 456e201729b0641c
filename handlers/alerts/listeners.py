"""The alert digest's buttons: Resend (one item) and Resend all. The digest is then updated in place."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.actor import Actor
from bot.alerts.actions import AlertActions, ItemResult, Result
from bot.alerts.domain import DIGEST_ID
from bot.audit.log import AuditOutcome
from bot.errors import UsageError
from bot.resend.service import parse_message_id
from bot.services import Services
from bot.work import Busy
from handlers.alerts.blocks import RESEND, RESEND_ALL, redraw, thread_blocks
from handlers.middleware.authorize import Routes
from handlers.middleware.early_ack import Listeners
from handlers.ui.formatting import code, mention, slack_date

log = logging.getLogger("commops.handlers.alerts")

ROUTES = Routes(actions={RESEND: "alerts.resend", RESEND_ALL: "alerts.resend"})


def note(result: ItemResult) -> str | None:
    """What the clicker alone is told when nothing was sent."""
    mid = code(result.message_id)
    item = result.item
    if result.result is Result.ALREADY and item is not None and item.resent_at is not None:
        return (f":repeat: {mid} was already resent by {mention(item.resent_by)} {slack_date(item.resent_at)} as "
                f"{code(item.resent_id)}; not resent again.")
    if result.result is Result.BUSY and result.prior is not None:
        return (f":hourglass: {mid} is being resent by {mention(result.prior.user_id)} (started "
                f"{slack_date(result.prior.at)}), or its result is not known yet; not resent again. "
                "Check with /resend in a minute.")
    if result.result is Result.UNKNOWN:
        return f":warning: {mid} is not in the bot's alerts any more; use /resend {result.message_id}."
    return None


async def _tell(respond: AsyncRespond, results: Sequence[ItemResult]) -> None:
    notes = [text for text in (note(result) for result in results) if text]
    if notes:
        await respond(response_type="ephemeral", replace_original=False, text="\n".join(notes[:20]))


async def _update(client: AsyncWebClient, body: dict[str, Any], results: Sequence[ItemResult]) -> bool:
    """Redraw the digest in place; False (logged) when Slack refuses, e.g. the message was deleted: the resends
    stand all the same, and the clicker is told of them."""
    message = body.get("message") or {}
    channel = str((body.get("channel") or {}).get("id") or "")
    items = {result.message_id: result.item for result in results if result.item is not None}
    try:
        await client.chat_update(channel=channel, ts=str(message.get("ts") or ""),
                                 text=message.get("text") or "Alert", blocks=redraw(message.get("blocks") or [], items))
    except SlackApiError as error:
        log.warning("could not redraw the alert digest in %s: %s", channel, error.response.get("error"))
        return False
    return True


async def _tell_unredrawn(respond: AsyncRespond, results: Sequence[ItemResult]) -> None:
    resent = [f"`{result.message_id}`" for result in results if result.result is Result.RESENT]
    if resent:
        await respond(response_type="ephemeral", replace_original=False,
                      text=f":white_check_mark: Resent {', '.join(resent[:20])}; the alert message itself could not "
                           "be updated (it may have been deleted).")


async def _refuse(services: Services, respond: AsyncRespond, actor: Actor, attempt_id: str, value: str,
                  error: UsageError) -> None:
    """A button value the bot never made (forged, or mangled): nothing is sent, the clicker is told, and the
    attempt is audited like an invalid command."""
    await respond(response_type="ephemeral", replace_original=False,
                  text=":warning: That button carries no valid message id; nothing was sent. Use /resend instead.")
    await services.audit.record("alerts.resend", AuditOutcome.INVALID, actor, arguments={"value": value[:200]},
                                error=str(error), attempt_id=attempt_id)


async def _busy(services: Services, respond: AsyncRespond, actor: Actor, attempt_id: str, busy: Busy,
                arguments: dict[str, Any]) -> None:
    await respond(response_type="ephemeral", replace_original=False, text=busy.text())
    await services.audit.record_busy("alerts.resend", actor, busy, arguments=arguments, attempt_id=attempt_id)


def register(app: Listeners, services: Services) -> None:
    actions = AlertActions(services.store, services.resend, budget=services.budget)

    @app.action(RESEND)
    async def resend_item(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                          respond: AsyncRespond, actor: Actor, attempt_id: str) -> None:
        await ack()
        value = str(action.get("value", ""))
        try:
            message_id = parse_message_id(value)
        except UsageError as error:
            await _refuse(services, respond, actor, attempt_id, value, error)
            return
        results = await actions.resend([message_id], actor, attempt_id=attempt_id)
        if isinstance(results, Busy):
            await _busy(services, respond, actor, attempt_id, results, {"message_id": message_id})
            return
        if not await _update(client, body, results):
            await _tell_unredrawn(respond, results)
        await _tell(respond, results)

    @app.action(RESEND_ALL)
    async def resend_all(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                         respond: AsyncRespond, actor: Actor, attempt_id: str) -> None:
        await ack()
        value = str(action.get("value", ""))
        if not DIGEST_ID.fullmatch(value):
            await _refuse(services, respond, actor, attempt_id, value, UsageError("not a digest id"))
            return
        answer = await actions.resend_digest(value, actor, attempt_id=attempt_id)
        if isinstance(answer, Busy):
            await _busy(services, respond, actor, attempt_id, answer, {"digest_id": value})
            return
        results, rows = answer
        if not await _update(client, body, results):
            await _tell_unredrawn(respond, results)
        threads: dict[tuple[str, str], list[Any]] = {}
        for place in rows:  # each item of the digest with where it was posted
            if place.in_thread and place.slack_channel and place.slack_ts:
                threads.setdefault((place.slack_channel, place.slack_ts), []).append(place.item)
        for (channel, ts), items in threads.items():
            items.sort(key=lambda item: (item.sent_at, item.message_id), reverse=True)
            await client.chat_update(channel=channel, ts=ts, text=f"{len(items)} more undelivered messages",
                                     blocks=thread_blocks(items))
        if not results:
            await respond(response_type="ephemeral", replace_original=False,
                          text=":warning: This alert is not in the bot's store any more; use /resend instead.")
        elif all(result.result is Result.ALREADY for result in results):
            await respond(response_type="ephemeral", replace_original=False,
                          text=":repeat: Every message of this alert was already resent; nothing was sent again.")
        else:
            await _tell(respond, [result for result in results if result.result is not Result.ALREADY])
