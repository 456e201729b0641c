"""The one AsyncApp: Web API client, listeners, and the error reply every unexpected failure gets; and the Slack
side of what runs beside it (the alert job's poster, the Slack check of ``commops check``)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookResponse

from bot.alerts.job import AlertScheduler, CycleReport, build_alert_job
from bot.approvals.sweeper import ExpirySweeper
from bot.schedule.runner import ScheduleRunner
from bot.services import Services, build_services
from bot.settings import Settings, SettingsError
from handlers.alerts.poster import SlackDigestPoster
from handlers.approvals.listeners import redraw_expired
from handlers.campaign.reporter import SlackScheduleReporter
from handlers.families import FAMILIES
from handlers.middleware import authorize, replay
from handlers.middleware.chain import Chain, Next, Step
from handlers.middleware.early_ack import Listeners
from handlers.middleware.edge import Edge, Identity, admitted, edge_of, reply_origins

log = logging.getLogger("commops.app")

RESPOND_TIMEOUT = aiohttp.ClientTimeout(total=30)  # as slack_sdk's webhook client


class PooledRespond(AsyncRespond):
    """Bolt's ``respond`` over the app's one pooled HTTP session: Bolt's own opens a session, and so a new connection,
    for every reply."""

    def __init__(self, *, response_url: str, session: aiohttp.ClientSession) -> None:
        super().__init__(response_url=response_url)
        self._session = session

    async def __call__(  # type: ignore[override]  # the same arguments as Bolt's, the text as a string
        self, text: str = "", blocks: Sequence[dict[str, Any]] | None = None, **options: Any,
    ) -> WebhookResponse:
        assert self.response_url is not None
        message: dict[str, Any] = {"text": text}
        if blocks:
            message["blocks"] = list(blocks)
        message.update({key: value for key, value in options.items() if value is not None})
        async with self._session.post(self.response_url, json=message, timeout=RESPOND_TIMEOUT) as answer:
            body = await answer.text()
            return WebhookResponse(url=self.response_url, status_code=answer.status, body=body,
                                   headers=dict(answer.headers))


def pooled_responses(app: AsyncApp) -> Step:
    """The middleware step that gives every request with a response URL a :class:`PooledRespond` (before the
    listeners and every other middleware ask Bolt's context for ``respond``)."""

    async def pooled(req: AsyncBoltRequest, response: BoltResponse, next_: Next) -> BoltResponse:
        context = req.context
        session = app.client.session
        if context.response_url and session is not None:
            context["respond"] = PooledRespond(response_url=context.response_url, session=session)
        await next_()
        return response

    return pooled


class _QuietTokenNotice(logging.Filter):
    """Bolt also reads SLACK_BOT_TOKEN from the environment and warns that our client's token wins: it is the
    same token, so the warning would only alarm operators."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def build_app(services: Services) -> AsyncApp:
    settings = services.settings
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    # One pooled HTTP session for every Web API call (the default opens a new one per call).
    client = AsyncWebClient(token=token, base_url=settings.slack_api_url, session=aiohttp.ClientSession())
    # slack_sdk retries only connection errors by default; Slack's 429s carry Retry-After and deserve a wait.
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
    bolt_logger = logging.getLogger("commops.bolt")
    if not any(isinstance(existing, _QuietTokenNotice) for existing in bolt_logger.filters):
        bolt_logger.addFilter(_QuietTokenNotice())
    app = AsyncApp(
        client=client,
        signing_secret=secret,
        request_verification_enabled=secret is not None,
        # Listeners answer the moment they ack and go on in the background (handlers/middleware/early_ack.py).
        process_before_response=True,
        raise_error_for_unhandled_request=False,
        logger=bolt_logger,
    )

    # Every request passes the edge first: signature (over HTTP), typed body, reply URLs, workspace and app.
    edge = Edge(signing_secret=secret, identity=Identity(client), reply_to=reply_origins(settings.slack_api_url))
    edge.install(app)

    @app.error
    async def on_error(error: Exception, respond: Any, context: dict[str, Any]) -> None:
        payload = admitted(context)
        log.error("unhandled %s while serving a %s", type(error).__name__,
                  payload.kind if payload is not None else "request the edge did not admit", exc_info=error)
        # Only a request the edge admitted has a response URL known to be Slack's; nothing else is answered.
        if respond is not None and payload is not None and context.get("response_url"):
            try:
                await respond(response_type="ephemeral", replace_original=False,
                              text=":boom: Something went wrong on our side; nothing more was done. "
                                   "Try again, and tell the bot's operators if it keeps happening.")
            except Exception:  # the reply is best effort; the log above already says what happened
                log.warning("could not tell the user about the error")

    # The access check goes in before any listener. A route naming an action the policy does not know stops the
    # start here (authorize.UnknownAction) instead of denying those requests later.
    routes = authorize.merge_routes(family.ROUTES for family in FAMILIES)
    app.use(Chain([
        pooled_responses(app),
        replay.guard(services, routes),  # before the access check: a replay is refused whoever sends it
        authorize.check(app.client, access=services.access, audit=services.audit, routes=routes,
                        background=services.background),
    ]))
    listeners = Listeners(app, services.background)
    for family in FAMILIES:
        family.register(listeners, services)

    # Last, so they only catch what no family handles: a form closed (Slack sends it for forms opened with
    # notify_on_close) and options asked for a menu that loads none. Answered empty; nothing is left unhandled.
    @app.view_closed(re.compile(".*"))
    async def form_closed(ack: AsyncAck) -> None:
        await ack()

    @app.options(re.compile(".*"))
    async def no_options(ack: AsyncAck) -> None:
        await ack(options=[])

    return app


async def dispatch(app: AsyncApp, body: str | bytes, headers: Mapping[str, str]) -> BoltResponse:
    """Hand one raw Slack request to the app: through its edge and then Bolt's own dispatch (HTTP server and shell
    alike). An app built without :func:`build_app` (unit tests of one middleware) goes to Bolt directly."""
    raw = body.encode() if isinstance(body, str) else body
    edge = edge_of(app)
    if edge is not None:
        return await edge.dispatch(app, raw, headers.items())
    return await app.async_dispatch(AsyncBoltRequest(body=raw.decode(), headers=dict(headers)))


async def close_app(app: AsyncApp) -> None:
    session = app.client.session
    if session is not None and not session.closed:
        await session.close()


# Alerts ------------------------------------------------------------------------------------------------------------


def start_alerts(services: Services, slack: AsyncWebClient, **kwargs: Any) -> AlertScheduler | None:
    """Build and start the scheduled alert job on the running loop, posting with ``slack`` (the app's client);
    None (and a log line) when alerts are off."""
    kwargs.setdefault("turns", services.turns)  # lookups take the background lane: people's calls go first
    job = build_alert_job(services.settings, capillary=services.capillary, store=services.store,
                          poster=SlackDigestPoster(slack), clock=services.clock, **kwargs)
    if job is None:
        return None
    scheduler = AlertScheduler(job, services.settings.alert_interval_seconds)
    scheduler.start()
    return scheduler


# Scheduled pauses and resumes ---------------------------------------------------------------------------------------


def start_schedule(services: Services, slack: AsyncWebClient, **kwargs: Any) -> ScheduleRunner | None:
    """Start the runner of scheduled pauses and resumes on the running loop (whether or not alerts are on), telling
    channels with ``slack``; None (and a log line) when Comm is not configured. Its first poll runs at once, so what
    fell due while the bot was down runs now."""
    if services.schedule is None:
        log.info("scheduled pauses and resumes are off: Comm is not configured")
        return None
    runner = ScheduleRunner(services.schedule, SlackScheduleReporter(slack), clock=services.clock, **kwargs)
    runner.start()
    return runner


def start_approval_expiry(services: Services, slack: AsyncWebClient) -> ExpirySweeper | None:
    """Start the sweep that expires approval requests nobody decided in time and redraws their messages with
    ``slack``; None when the two-person rule is not built (no approvals service)."""
    if services.approvals is None:
        return None
    sweeper = ExpirySweeper(services.approvals, redraw_expired(slack, services), clock=services.clock)
    sweeper.start()
    return sweeper


def slack_client(settings: Settings) -> AsyncWebClient:
    """A Web API client for posting alerts outside the running bot (``commops alerts run-once``)."""
    if settings.slack_bot_token is None:
        raise SettingsError("SLACK_BOT_TOKEN is not set: expected the bot token (xoxb-…) that posts the alerts")
    client = AsyncWebClient(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
    return client


async def run_alerts_once(settings: Settings) -> CycleReport:
    """One alert run now, as the running bot would do it (ALERT_CHANNEL must be set)."""
    settings.require_capillary()
    slack = slack_client(settings)
    services = await build_services(settings)
    try:
        job = build_alert_job(settings, capillary=services.capillary, store=services.store,
                              poster=SlackDigestPoster(slack))
        assert job is not None  # the caller checked ALERT_CHANNEL
        return await job.run_once()
    finally:
        await services.aclose()


# commops check -----------------------------------------------------------------------------------------------------


async def check_slack(settings: Settings) -> str:
    """The Slack check of ``commops check``: the bot token works (auth.test) and a way to receive requests is set."""
    if settings.slack_bot_token is None:
        raise SettingsError("SLACK_BOT_TOKEN is not set: expected the bot token (xoxb-…)")
    if settings.slack_app_token is None and settings.slack_signing_secret is None:
        raise SettingsError("neither SLACK_APP_TOKEN (Socket Mode) nor SLACK_SIGNING_SECRET (HTTP mode) is set")
    client = AsyncWebClient(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url,
                            timeout=10)
    try:
        reply = await client.auth_test()
    except SlackApiError as error:
        raise SettingsError(f"Slack refused SLACK_BOT_TOKEN ({error.response.get('error')})") from None
    mode = "Socket Mode" if settings.slack_app_token else "HTTP mode"
    return f"bot {reply.get('user')} in team {reply.get('team')}, {mode}"
