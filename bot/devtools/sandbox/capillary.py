"""Capillary routes: OAuth tokens, resend, and the customer interaction history.

Auth: ``X-CAP-API-OAUTH-TOKEN`` when present, else ``Authorization: Basic base64(user:md5hex(password))``.
Failures are HTTP 401 in the envelope of the path's API version; an expired OAuth token is HTTP 401 with
code 498 in the body (like 4000 under 403, the code is the body's, the status the HTTP one).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.devtools.sandbox import envelopes
from bot.devtools.sandbox.clock import as_aware
from bot.devtools.sandbox.credentials import DEMO, OAUTH_USER, TILL_USER, md5_hex
from bot.devtools.sandbox.envelopes import INVALID_INPUT, VendorError
from bot.devtools.sandbox.messages import IDENTIFIER_NAMES
from bot.devtools.sandbox.routing import read_json, sandbox_of
from bot.devtools.sandbox.tokens import TokenCheck

INTERACTION_TYPES = frozenset({"sms", "email", "push", "whatsapp", "wechat"})


def capillary_user(request: Request) -> dict[str, Any]:
    """The API user the request authenticates as, or a VendorError with the 401 to send."""
    state, path = sandbox_of(request), request.url.path
    token = request.headers.get("x-cap-api-oauth-token")
    if token:
        check, user = state.tokens.check(token, as_aware(state.now()))
        if check is TokenCheck.VALID and user is not None:
            return user
        if check is TokenCheck.EXPIRED:
            raise VendorError(envelopes.capillary_error(path, 498, "Token expired", status=401))
        raise VendorError(envelopes.capillary_error(path, 401, "Invalid OAuth token", status=401))
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            username, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            username, password = "", ""
        expected = md5_hex(DEMO.capillary_password)
        if username == DEMO.capillary_username and hmac.compare_digest(password.lower(), expected):
            return TILL_USER
    raise VendorError(envelopes.capillary_error(path, 401, status=401))


async def generate_token(request: Request) -> JSONResponse:
    """``POST /v3/oauth/token/generate``: 200 with a token, 401 + code 320001 for a bad pair, 400 for bad JSON."""
    state, body = sandbox_of(request), await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("key"), str) or not isinstance(body.get("secret"), str):
        return envelopes.respond({"data": None, "errors": [{"code": 400, "message": INVALID_INPUT}]}, 400)
    key_ok = hmac.compare_digest(body["key"], DEMO.oauth_key)
    if not (key_ok and hmac.compare_digest(body["secret"], DEMO.oauth_secret)):
        errors = [{"code": 320001, "message": "Invalid client key and secret"}]
        return envelopes.respond({"data": None, "errors": errors}, 401)
    token = state.tokens.issue(OAUTH_USER, as_aware(state.now()), state.oauth_ttl_seconds)
    return envelopes.respond({"data": {"accessToken": token, "ttlSeconds": state.oauth_ttl_seconds},
                              "errors": None})


def _invalid_input() -> JSONResponse:
    # Seed 004's body for a bad type, key order included; we send it with HTTP 400.
    errors = [{"status": False, "code": 400, "message": INVALID_INPUT}]
    return envelopes.respond({"warnings": [], "errors": errors}, 400)


async def resend(request: Request) -> JSONResponse:
    """``POST /v2/communications/resend`` (seed 004). Unknown ids answer 4223 under HTTP 200, as documented."""
    capillary_user(request)
    state, body = sandbox_of(request), await read_json(request)
    message_id = body.get("messageId") if isinstance(body, dict) else None
    if not isinstance(message_id, int) or isinstance(message_id, bool):
        return _invalid_input()
    outcome = state.messages.resend(message_id)
    if outcome is None:
        text = f"Failed to resend message : Message not found for orgId: {state.org_id} and messageId: {message_id}"
        return envelopes.respond({"errors": [{"status": False, "message": text, "code": 4223}]})
    resent_id, warnings = outcome
    return envelopes.respond({"orgId": state.org_id, "undeliveredMessageId": message_id,
                              "resentMessageId": resent_id, "warnings": warnings})


async def interactions(request: Request) -> JSONResponse:
    """``GET /v2/customers/interaction``: one customer's messages by channel; 1012 (HTTP 200) when unknown."""
    capillary_user(request)
    state, query = sandbox_of(request), request.query_params
    name, value, kind = query.get("identifierName"), query.get("identifierValue"), query.get("type")
    if name not in IDENTIFIER_NAMES or not value or not value.strip():
        return _invalid_input()
    channel = None
    if kind and kind.upper() != "ALL":
        channel = kind.lower()
        if channel not in INTERACTION_TYPES:
            return _invalid_input()
    customer = state.messages.find_customer(name, value)
    if customer is None:
        return envelopes.v2_error(1012, "Customer not found for the given identifier")
    return envelopes.respond(customer.render(state.zone, channel))


ROUTES = [
    Route("/v3/oauth/token/generate", generate_token, methods=["POST"]),
    Route("/v2/communications/resend", resend, methods=["POST"]),
    Route("/v2/customers/interaction", interactions, methods=["GET"]),
]
