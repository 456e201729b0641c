"""The one access check: a Bolt global middleware that every command, button, form and menu passes through.

Each handler module says in its ``ROUTES`` which action (DESIGN.md's names) each of its slash sub-commands,
buttons (by action_id), modals and shortcuts (by callback_id) and events (by type) performs. The middleware maps
the request to its action, asks :mod:`bot.access.policy`, and then either passes it on (the decision and an
attempt id for the audit log go into Bolt's context) or denies it: the user is told why and how to get access,
the denial is audited, and no listener runs.

Fail closed: a request the routes do not know (an unknown command, sub-command, button, modal, shortcut,
event) is denied, since nothing says it is harmless. Usage (``help``, or no text) is open for every routed
command. A button copied from an old message, a forged payload or a form submitted by someone else is judged
by the person who sent it, like a command.

Modals have no channel; a modal whose ``private_metadata`` is a JSON object with ``channel_id`` is judged in
that channel (set it when opening the modal from a command), else as if outside every channel.

The middleware also opens the request's :class:`bot.observability.context.RequestScope`: its attempt id, user and
action go on every JSON log line the request causes, and the request is counted in the metrics with a name bounded
to these routes (a denial here, an allowed request by the listener wrapper of early_ack.py when its work ends),
with the time from its arrival here to the ack.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.access.policy import CHANGES_DATA, AccessControl, Decision, require_known
from bot.actor import Actor
from bot.audit.log import AuditLog, new_attempt_id
from bot.background import BackgroundWork
from bot.observability.context import RequestScope, enter_request
from bot.observability.metrics import OTHER
from handlers.middleware.chain import Chain, Next, Step
from handlers.middleware.edge import admitted
from handlers.middleware.payloads import (
    BlockActions,
    BlockSuggestion,
    EventCallback,
    MessageAction,
    NotUnderstood,
    Shortcut,
    SlackPayload,
    SlashCommand,
    View,
    ViewClosed,
    ViewSubmission,
    first_word,
    parse,
)

log = logging.getLogger("commops.authorize")

OPEN = "open"  # a route target: harmless for everyone (usage, the caller's own data); no grant needed
ANY = "*"  # in a command's table: any first word not listed
HELP_WORDS = frozenset({"", "help", "-h", "--help", "?"})
# Bolt context keys the middleware sets; listeners name them as arguments (``actor: Actor, attempt_id: str``).
ACTOR_KEY = "actor"
ATTEMPT_KEY = "attempt_id"
DECISION_KEY = "access_decision"



@dataclass(frozen=True)
class Routes:
    """What each request performs. ``commands``: command -> first word (or ``*``) -> action; ``actions``:
    action_id -> action (buttons, menus, their option loads); ``views``: callback_id -> action; ``shortcuts``:
    a global or message shortcut's callback_id -> action; ``events``: an Events API event type -> action."""

    commands: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    actions: Mapping[str, str] = field(default_factory=dict)
    views: Mapping[str, str] = field(default_factory=dict)
    shortcuts: Mapping[str, str] = field(default_factory=dict)
    events: Mapping[str, str] = field(default_factory=dict)


def merge_routes(parts: Iterable[Routes]) -> Routes:
    """One table from every family's. A key claimed twice, or an action the policy does not know
    (:class:`bot.access.policy.UnknownAction`), stops the start rather than deny those requests at run time."""
    commands: dict[str, dict[str, str]] = {}
    actions: dict[str, str] = {}
    views: dict[str, str] = {}
    shortcuts: dict[str, str] = {}
    events: dict[str, str] = {}
    for part in parts:
        for command, words in part.commands.items():
            table = commands.setdefault(command, {})
            _add(table, words, f"command {command}")
        _add(actions, part.actions, "action_id")
        _add(views, part.views, "callback_id")
        _add(shortcuts, part.shortcuts, "shortcut callback_id")
        _add(events, part.events, "event type")
    routed = [*(action for table in commands.values() for action in table.values()), *actions.values(),
              *views.values(), *shortcuts.values(), *events.values()]
    require_known(action for action in routed if action != OPEN)
    return Routes(commands, actions, views, shortcuts, events)


def _add(into: dict[str, str], items: Mapping[str, str], what: str) -> None:
    for key, action in items.items():
        if key in into and into[key] != action:
            raise ValueError(f"{what} {key!r} is routed to both {into[key]!r} and {action!r}")
        into[key] = action


@dataclass(frozen=True)
class Target:
    """What a request asks for. ``action`` is an access action, :data:`OPEN`, or None (unknown: denied)."""

    kind: str  # command | action | view | view_closed | options | other
    label: str  # what the user did, in words for the denial: "/campaign frob", "button resend.anyway"
    action: str | None
    arguments: dict[str, Any]
    known_command: bool = False


def resolve(payload: SlackPayload, routes: Routes) -> Target:
    if isinstance(payload, SlashCommand):
        command = payload.command
        text = payload.text.strip()
        word = first_word(text)[0].lower()
        table = routes.commands.get(command)
        arguments: dict[str, Any] = {"command": command, "text": text}
        label = f"{command} {word}".strip()
        if table is None:
            return Target("command", command, None, arguments)
        action = OPEN if word in HELP_WORDS else table.get(word, table.get(ANY))
        return Target("command", label, action, arguments, known_command=True)
    if isinstance(payload, BlockActions):  # the edge lets through only the one action Slack sends
        clicked = payload.action
        arguments = {key: value for key, value in (("action_id", clicked.action_id), ("block_id", clicked.block_id),
                                                   ("value", clicked.value)) if value is not None}
        return Target("action", f"button {clicked.action_id}", routes.actions.get(clicked.action_id), arguments)
    if isinstance(payload, BlockSuggestion):
        action_id = payload.action_id
        return Target("options", f"menu {action_id}", routes.actions.get(action_id), {"action_id": action_id})
    if isinstance(payload, ViewSubmission | ViewClosed):
        view = payload.view
        arguments = {"callback_id": view.callback_id, "view_id": view.id}
        target_kind = "view" if isinstance(payload, ViewSubmission) else "view_closed"
        return Target(target_kind, f"form {view.callback_id}", routes.views.get(view.callback_id), arguments)
    callback_id = payload.callback_id if isinstance(payload, Shortcut | MessageAction) else None
    arguments = {"type": payload.type, "callback_id": callback_id}
    if callback_id is not None:
        return Target("other", f"shortcut {callback_id}".strip(), routes.shortcuts.get(callback_id), arguments)
    if isinstance(payload, EventCallback):
        event_type = payload.event.type
        arguments = {"type": payload.type, "event": event_type}
        return Target("other", f"event {event_type}".strip(), routes.events.get(event_type), arguments)
    return Target("other", payload.kind, None, arguments)


def channel_of(payload: SlackPayload, context: AsyncBoltContext) -> str | None:
    if context.channel_id:
        return str(context.channel_id)
    metadata = payload.view.private_metadata if payload.view is not None else ""
    if metadata.startswith("{"):
        try:
            channel = json.loads(metadata).get("channel_id")
        except (ValueError, AttributeError, RecursionError):  # a modal we did not open: judged outside channels
            return None
        return channel if isinstance(channel, str) else None
    return None


def actor_of(payload: SlackPayload, context: AsyncBoltContext, channel_id: str | None) -> Actor:
    return Actor(str(context.user_id or ""), payload.person, context.team_id, channel_id)


# --- what the user is told ----------------------------------------------------------------------------------------


def denial_text(target: Target, decision: Decision | None) -> str:
    """One mrkdwn paragraph: what was refused, that nothing happened, and how to get access."""
    if decision is None:
        label = _escape(target.label)  # the sender's own words: a sub-command, an action or callback id
        if target.kind == "command" and target.known_command:
            command = label.split()[0]
            return (f":no_entry: `{label}` is not something commops knows, so nothing was done. "
                    f"`{command} help` lists what it can do.")
        if target.kind == "command":
            return f":no_entry: commops does not handle `{label}`, so nothing was done."
        noun = first_word(label)[0] or "request"
        return (f":no_entry: commops does not know this {noun} (`{label}`), so nothing "
                "was done. It may come from an older message; run the command again.")
    action = decision.action
    if decision.reason == "wrong_channel":
        where = ", ".join(f"<#{channel}>" for channel in sorted(decision.channels))
        return (f":no_entry: You may run `{action}` only in {where}, not here, so nothing was done. Run it there, "
                f"or ask an admin to add this channel to your grant for `{action}` in the access policy.")
    if decision.reason == "no_policy":
        allowed = "nothing that changes data" if action in CHANGES_DATA else "only read-only actions"
        return (f":no_entry: `{action}` is denied because no ACCESS_POLICY is configured, and without one commops "
                f"allows {allowed}. Nothing was done. Ask an admin to set ACCESS_POLICY with a grant for "
                f"`{action}` that includes you.")
    return (f":no_entry: You are not allowed to run `{action}`, so nothing was done. To get access, ask an admin "
            f"to add you (or a user group you are in) to a grant for `{action}` in the access policy.")


def _escape(text: str) -> str:
    """As handlers.ui.formatting.escape (the middleware does not import handlers.ui: sibling layers)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plain(text: str) -> str:
    """View errors are plain text: no emoji codes, no channel links."""
    return text.removeprefix(":no_entry: ").replace("`", "")


def _first_input_block(view: View) -> str | None:
    return next((block.block_id for block in view.blocks if block.type == "input" and block.block_id), None)


def _denied_view(text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Not allowed"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}],
    }


# --- the middleware -----------------------------------------------------------------------------------------------


class SlackUsergroups:
    """bot.access.policy.s GroupDirectory over Slack's ``usergroups.users.list``."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def members(self, usergroup_id: str) -> Collection[str]:
        reply = await self._client.usergroups_users_list(usergroup=usergroup_id)
        users = reply.get("users") or []
        return [str(user) for user in users]


def install(app: AsyncApp, *, access: AccessControl, audit: AuditLog, routes: Routes,
            background: BackgroundWork | None = None) -> None:
    """Put the check in front of every listener of ``app``. Denials are audited after the ack, as
    ``background`` work (drained at shutdown, so no denial goes unrecorded)."""
    app.use(Chain([check(app.client, access=access, audit=audit, routes=routes, background=background)]))


def check(client: AsyncWebClient, *, access: AccessControl, audit: AuditLog, routes: Routes,
          background: BackgroundWork | None = None) -> Step:
    """The check, as a step of the bot's middleware chain (handlers/middleware/chain.py)."""
    access.use_directory(SlackUsergroups(client))
    follow_ups = background if background is not None else BackgroundWork()

    async def authorize(req: AsyncBoltRequest, response: BoltResponse, next_: Next) -> BoltResponse | None:
        body, context = req.body, req.context
        ack, client = context.ack, context.client
        payload = admitted(context)
        if payload is None:  # an app without the edge in front (unit tests): parse here, with the same models
            try:
                payload = parse(body)
            except NotUnderstood as error:
                log.warning("refused a request (400): %s", error.reason)
                return BoltResponse(status=400, body="")
        target = resolve(payload, routes)
        kind, name = metric_labels(target, payload, routes)
        # Bolt runs the listener after this middleware returns, in the same task: the scope stays current for it.
        # The replay guard, which runs first, may have given the request its attempt id already.
        scope = enter_request(RequestScope(kind, name, attempt_id=context.get(ATTEMPT_KEY) or new_attempt_id(),
                                           user=context.user_id))
        return await decide(payload, context, ack, client, response, next_, target, scope)

    async def decide(
        payload: SlackPayload, context: AsyncBoltContext, ack: AsyncAck, client: AsyncWebClient,
        response: BoltResponse, next_: Next, target: Target, scope: RequestScope,
    ) -> BoltResponse | None:
        channel = channel_of(payload, context)
        decision: Decision | None = None
        if target.action == OPEN:
            allowed = True
        elif target.action is not None:
            decision = await access.decide(target.action, str(context.user_id or ""), channel)
            allowed = decision.allowed
        else:
            allowed = False
        scope.action = decision.action if decision else target.action if target.action != OPEN else target.label
        if allowed:
            context[ATTEMPT_KEY] = scope.attempt_id
            context[ACTOR_KEY] = actor_of(payload, context, channel)
            context[DECISION_KEY] = decision
            await next_()  # the listener (handlers/middleware/early_ack.py) observes the ack and counts the request
            return response
        scope.action = scope.action or "unknown"
        scope.note("denied")
        if isinstance(payload, EventCallback) or (target.kind == "other" and not context.user_id):
            log.debug("ignored %s: no route handles it", target.label)
            return await _answered(ack(), scope)
        actor = actor_of(payload, context, channel)
        text = denial_text(target, decision)
        log.info("denied %s to %s in %s: %s", target.label, actor.user_id, channel or "no channel",
                 decision.detail if decision else "no route")
        follow_ups.spawn(_follow_up(audit, client, context, payload, target, decision, actor, text, scope.attempt_id),
                         name=f"denial of {target.label}")
        return await _answered(_deny(ack, target, payload, text), scope)

    return authorize


async def _answered(acking: Awaitable[BoltResponse], scope: RequestScope) -> BoltResponse:
    try:
        return await acking
    finally:
        scope.acked()
        scope.finish()


def metric_labels(target: Target, payload: SlackPayload, routes: Routes) -> tuple[str, str]:
    """The request's ``kind`` (command, action, view, event) and ``name`` (the command, action_id or callback_id,
    when a route declares it; else ``other``, so that no payload can add label values)."""
    if target.kind == "command":
        command = str(target.arguments.get("command"))
        return "command", command if command in routes.commands else OTHER
    if target.kind in ("action", "options"):
        action_id = target.arguments.get("action_id")
        return "action", action_id if isinstance(action_id, str) and action_id in routes.actions else OTHER
    if target.kind in ("view", "view_closed"):
        callback_id = target.arguments.get("callback_id")
        return "view", callback_id if isinstance(callback_id, str) and callback_id in routes.views else OTHER
    if isinstance(payload, EventCallback):
        event_type = target.arguments.get("event")
        return "event", event_type if isinstance(event_type, str) and event_type in routes.events else OTHER
    callback_id = target.arguments.get("callback_id")
    return "action", callback_id if isinstance(callback_id, str) and callback_id in routes.shortcuts else OTHER


async def _deny(ack: AsyncAck, target: Target, payload: SlackPayload, text: str) -> BoltResponse:
    if target.kind == "command":
        return await ack(text=text, response_type="ephemeral")
    if target.kind == "view" and payload.view is not None:
        block_id = _first_input_block(payload.view)
        if block_id is not None:
            return await ack(response_action="errors", errors={block_id: _plain(text)[:2000]})
        return await ack(response_action="update", view=_denied_view(text))
    if target.kind == "options":
        return await ack(options=[])
    return await ack()


async def _follow_up(audit: AuditLog, client: AsyncWebClient, context: AsyncBoltContext, payload: SlackPayload,
                     target: Target, decision: Decision | None, actor: Actor, text: str,
                     attempt_id: str | None) -> None:
    """After the ack: audit the denial first (so it is on record before the user hears of it), then tell a
    user who clicked a button, whose request's ack cannot carry a message."""
    await audit.record_denial(
        decision.action if decision else "unknown", actor, arguments=target.arguments,
        error_code=decision.reason if decision else "unknown_request",
        error=decision.detail if decision else f"no route for {target.label}", attempt_id=attempt_id,
    )
    if target.kind not in ("action", "other"):
        return
    try:
        # Bolt always sets context.respond, but it only works with a response URL, which modals never carry.
        if context.respond is not None and context.response_url:
            await context.respond(text=text, response_type="ephemeral", replace_original=False)
        elif actor.channel_id and actor.user_id:
            await client.chat_postEphemeral(channel=actor.channel_id, user=actor.user_id, text=text)
        elif payload.trigger_id and payload.view is not None:
            await client.views_push(trigger_id=payload.trigger_id, view=_denied_view(text))
    except Exception as error:  # the denial stands and is audited; only the notice failed
        log.warning("could not tell %s about a denial: %s", actor.user_id, type(error).__name__)
