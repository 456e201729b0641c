"""Refuse a signed Slack request received before: a Bolt global middleware that runs before the access check.

Slack does not de-duplicate, and a signed request stays valid for five minutes, so whoever captures one (a log, a
proxy) can send it again and it passes the signature check. Every slash command, button click and form submission
that arrives over HTTP is remembered by its signature and timestamp (bot/access/replays.py): by this process, and
in the store, shared by every replica. A replay is served nothing, logged in one line, and audited as a
``duplicate`` under its own attempt id, naming the attempt that served the request the first time.

Slack's answer does not wait for the store (under load a round trip costs tens of milliseconds, and the answer is
due within 3 s). So:
- a request this process received before is refused in the answer itself: a command gets an ephemeral "already
  received", a click or a form an empty answer;
- any other request is answered as usual while the store records it; the listener's work waits for the store
  (the gate of handlers/middleware/early_ack.py), and stops there if another replica received the request first.
  Of two replicas receiving one request, exactly one serves it.

A first sighting passes on with the attempt id it was recorded under in Bolt's context (the authorize middleware
keeps it), so the audit rows of a request and of its replays point at each other.

Socket Mode requests carry no signature and are not checked: they arrive over a socket Slack authenticated with
the app token, and each envelope is delivered to us once (there is nothing a third party could capture and send
again). Requests without the signature headers (Bolt without a signing secret) are not checked either.

When the store does not answer, whether a request is a replay is unknown: it is not served (fail closed), and the
person is told so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.access.replays import Sighting, StoreUnavailable, fingerprint
from bot.audit.log import AuditOutcome, new_attempt_id
from bot.services import Services
from handlers.middleware.authorize import ATTEMPT_KEY, OPEN, Routes, actor_of, channel_of, resolve
from handlers.middleware.chain import Chain, Next, Step
from handlers.middleware.early_ack import GATE_KEY, Stop
from handlers.middleware.edge import admitted
from handlers.middleware.payloads import parse

log = logging.getLogger("commops.replay")

SIGNATURE, TIMESTAMP = "x-slack-signature", "x-slack-request-timestamp"
GUARDED = {"block_actions": "action", "view_submission": "view"}  # and every slash command
ALREADY_RECEIVED = (":repeat: commops already received this exact request (at {when}), so it did nothing this time. "
                    "To do it again, run the command again.")
UNCHECKED = (":warning: commops could not make sure it had not received this request before (its database does "
             "not answer), so it did nothing. Try again in a minute.")


def kind_of(body: Mapping[str, Any]) -> str | None:
    """``command``, ``action`` or ``view`` for the requests the guard checks; None for the rest."""
    if "command" in body:
        return "command"
    return GUARDED.get(str(body.get("type")))


def _header(headers: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = headers.get(name) or ()
    return str(values[0]) if values else None


def install(app: AsyncApp, services: Services, routes: Routes) -> None:
    """Put the guard in front of every listener (install it before the access check)."""
    app.use(Chain([guard(services, routes)]))


def guard(services: Services, routes: Routes) -> Step:
    """The guard, as a step of the bot's middleware chain (handlers/middleware/chain.py)."""
    seen, audit, background = services.seen_requests, services.audit, services.background

    async def refuse_replays(req: AsyncBoltRequest, response: BoltResponse, next_: Next) -> BoltResponse | None:
        body, context = req.body, req.context
        ack = context.ack
        kind = kind_of(body)
        # Socket Mode envelopes carry no signature (the socket itself is authenticated): nothing to remember.
        signature, timestamp = _header(req.headers, SIGNATURE), _header(req.headers, TIMESTAMP)
        if kind is None or not signature or not timestamp:
            await next_()
            return response
        payload = admitted(context) or parse(body)  # the edge admitted it; parsed here only without the edge
        digest, attempt_id = fingerprint(timestamp, signature), new_attempt_id()
        # What a refusal would say, taken now: the check goes on in the background after the request is answered,
        # and must not keep the whole request (its body, Bolt's context) alive until then.
        target = resolve(payload, routes)
        actor = actor_of(payload, context, channel_of(payload, context))

        async def refused(earlier: Sighting) -> None:
            log.warning("refused a replay of %s as %s: first received %s (attempt %s)", target.label,
                        actor.user_id or "nobody", earlier.seen_at.isoformat(timespec="seconds"), earlier.attempt_id)
            await audit.record(
                target.action if target.action not in (None, OPEN) else "unknown", AuditOutcome.DUPLICATE, actor,
                arguments={**target.arguments, **_first(earlier)}, error_code="replay",
                error=f"a signed request received before, {_first(earlier)['first_received']}", attempt_id=attempt_id)

        earlier = seen.seen_here(digest, attempt_id)
        if earlier is not None:  # this process served it: refused at once, in the answer itself
            background.spawn(refused(earlier), name="audit of a replay")
            if kind == "command":
                text = ALREADY_RECEIVED.format(when=f"{earlier.seen_at:%H:%M:%S} UTC")
                return await ack(text=text, response_type="ephemeral")
            return await ack()

        # Whether another replica served it first: the store's answer comes back on a future, so a request waits
        # for it with nothing but that future (no task of its own) however long the store takes under load.
        sighting = seen.sighting(digest, attempt_id)

        def judged(done: asyncio.Future[Sighting | None]) -> None:
            if done.cancelled():
                return
            error = done.exception()
            if isinstance(error, StoreUnavailable):
                log.error("a request was not served: the store does not answer, so a replay cannot be ruled out "
                          "(%s)", error)
            elif error is None and (first := done.result()) is not None:
                seen.learn(digest, first)
                background.spawn(refused(first), name="audit of a replay")

        sighting.add_done_callback(judged)

        async def gate() -> None:
            try:
                first = await asyncio.shield(sighting)
            except StoreUnavailable:
                raise Stop(UNCHECKED) from None
            if first is not None:
                raise Stop()  # a replay's sender needs no notice; the refusal is logged and audited

        context[ATTEMPT_KEY] = attempt_id
        context[GATE_KEY] = gate  # the listener answers Slack at once, and works only once the store agrees
        await next_()
        return response

    return refuse_replays


def _first(earlier: Sighting) -> dict[str, Any]:
    return {"first_received": earlier.seen_at.isoformat(timespec="milliseconds"),
            "first_attempt_id": earlier.attempt_id}
