"""``/_sandbox/``: the control API, so tests against a separately started sandbox can arrange things over HTTP.

Errors here are plain ``{"error": "..."}`` with HTTP 400/404: this is our API, not a vendor's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.devtools.sandbox.faults import parse_rule
from bot.devtools.sandbox.routing import NOT_JSON, is_int, read_json, sandbox_of
from bot.devtools.sandbox.traffic import VENDORS


def _error(text: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": text}, status_code=status)


async def _object(request: Request) -> dict[str, Any] | None:
    body = await read_json(request)
    return body if isinstance(body, dict) else None


async def add_fault(request: Request) -> JSONResponse:
    body = await read_json(request)
    try:
        rule = parse_rule(body if body is not NOT_JSON else None)
    except (TypeError, ValueError) as error:
        return _error(f"fault rule: {error}")
    return JSONResponse(sandbox_of(request).faults.add(rule).as_dict(), status_code=201)


async def list_faults(request: Request) -> JSONResponse:
    return JSONResponse([rule.as_dict() for rule in sandbox_of(request).faults.rules])


async def clear_faults(request: Request) -> JSONResponse:
    return JSONResponse({"cleared": sandbox_of(request).clear_faults()})


async def set_latency(request: Request) -> JSONResponse:
    body = await _object(request)
    if body is None or not is_int(body.get("ms")) or body["ms"] < 0:
        return _error('expected {"ms": <non-negative integer>}')
    sandbox_of(request).latency_ms = body["ms"]
    return JSONResponse({"ms": body["ms"]})


async def set_rate_limit(request: Request) -> JSONResponse:
    body = await _object(request) or {}
    per_minute, vendor = body.get("per_minute", "missing"), body.get("vendor")
    valid = per_minute is None or (is_int(per_minute) and per_minute >= 1)
    if not valid or vendor not in (None, *VENDORS):
        return _error('expected {"per_minute": <positive integer> | null, "vendor": "capillary" | "comm" | null}')
    state = sandbox_of(request)
    state.set_rate_limit(per_minute, vendor)
    return JSONResponse({name: state.traffic.limits[name] for name in VENDORS})


async def stats(request: Request) -> JSONResponse:
    return JSONResponse(sandbox_of(request).stats())


async def list_calls(request: Request) -> JSONResponse:
    query = request.query_params
    return JSONResponse(sandbox_of(request).recorded_calls(method=query.get("method"), path=query.get("path")))


async def clear_calls(request: Request) -> JSONResponse:
    sandbox_of(request).calls.clear()
    return JSONResponse({"cleared": True})


async def reset(request: Request) -> JSONResponse:
    sandbox_of(request).reset()
    return JSONResponse({"reset": True})


async def add_interaction(request: Request) -> JSONResponse:
    body = await _object(request)
    if body is None or not isinstance(body.get("identifierName"), str) or not isinstance(
            body.get("identifierValue"), str):
        return _error('expected {"identifierName", "identifierValue", "status"?, "channel"?, "sentAt"?}')
    sent_at = None
    if body.get("sentAt") is not None:
        try:
            sent_at = datetime.fromisoformat(str(body["sentAt"]))
        except ValueError:
            return _error("sentAt must be an ISO 8601 datetime")
    try:
        message_id = sandbox_of(request).add_interaction(
            body["identifierName"], body["identifierValue"], status=str(body.get("status", "NOT-DELIVERED")),
            channel=str(body.get("channel", "sms")), sent_at=sent_at, subject=str(body.get("subject", "")),
            name=body.get("name") if isinstance(body.get("name"), str) else None)
    except ValueError as error:
        return _error(str(error))
    return JSONResponse({"messageId": message_id}, status_code=201)


async def mutate_campaign(request: Request) -> JSONResponse:
    body = await _object(request)
    if body is None:
        return _error("expected a JSON object to deep-merge into the campaign")
    try:
        campaign = sandbox_of(request).patch_campaign(request.path_params["campaign"], body)
    except KeyError:
        return _error("no such campaign", 404)
    return JSONResponse({"data": campaign})


async def expire_tokens(request: Request) -> JSONResponse:
    return JSONResponse({"expired": sandbox_of(request).expire_tokens()})


async def config(request: Request) -> JSONResponse:
    """GET reads, POST changes: timezone, oauth_ttl_seconds, timeout_seconds."""
    state = sandbox_of(request)
    if request.method == "POST":
        body = await _object(request)
        if body is None:
            return _error("expected a JSON object")
        try:
            if "timezone" in body:
                state.timezone = str(body["timezone"])
            if "oauth_ttl_seconds" in body:
                state.oauth_ttl_seconds = int(body["oauth_ttl_seconds"])
            if "timeout_seconds" in body:
                state.timeout_seconds = float(body["timeout_seconds"])
        except (TypeError, ValueError, LookupError) as error:
            return _error(f"config: {error}")
    return JSONResponse({"timezone": state.timezone, "oauth_ttl_seconds": state.oauth_ttl_seconds,
                         "timeout_seconds": state.timeout_seconds, "latency_ms": state.latency_ms,
                         "rate_limits": dict(state.traffic.limits)})


ROUTES = [
    Route("/faults", add_fault, methods=["POST"]),
    Route("/faults", list_faults, methods=["GET"]),
    Route("/faults", clear_faults, methods=["DELETE"]),
    Route("/latency", set_latency, methods=["POST"]),
    Route("/rate_limit", set_rate_limit, methods=["POST"]),
    Route("/stats", stats, methods=["GET"]),
    Route("/calls", list_calls, methods=["GET"]),
    Route("/calls", clear_calls, methods=["DELETE"]),
    Route("/reset", reset, methods=["POST"]),
    Route("/interactions", add_interaction, methods=["POST"]),
    Route("/campaigns/{campaign}/mutate", mutate_campaign, methods=["POST"]),
    Route("/oauth/expire", expire_tokens, methods=["POST"]),
    Route("/config", config, methods=["GET", "POST"]),
]
