"""Comm SMS campaign routes (seed 003), mounted under ``/api``, answering like the Laravel API they come from.

401 ``{"message": "Unauthenticated."}`` for a missing or unknown Bearer token; 403 ``This action is unauthorized.``
for another team's campaign; 404 for an unknown campaign or send; 422 ``{"message", "errors": {field: [...]}}``
for a partial or invalid object. Stopping a send that already finished is 422 as well (our choice).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.devtools.sandbox import envelopes
from bot.devtools.sandbox.campaigns import CAMPAIGN_STATUSES, FINISHED_SEND_STATUSES, Campaign
from bot.devtools.sandbox.credentials import COMM_TEAMS
from bot.devtools.sandbox.envelopes import VendorError
from bot.devtools.sandbox.routing import read_json, sandbox_of


def _team(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    team = COMM_TEAMS.get(token.strip()) if scheme.lower() == "bearer" else None
    if team is None:
        raise VendorError(envelopes.comm_error(401))
    return team


def _campaign(request: Request, team: str) -> Campaign:
    campaign_id = request.path_params["campaign"]
    store = sandbox_of(request).campaigns
    if campaign_id not in store.campaigns:
        raise VendorError(envelopes.comm_error(404, f"No query results for model [App\\Models\\SmsCampaign] "
                                                    f"{campaign_id}"))
    if store.owners[campaign_id] != team:
        raise VendorError(envelopes.comm_error(403))
    return store.campaigns[campaign_id]


def _name_errors(body: dict[str, Any]) -> list[str]:
    name = body.get("name")
    if name is None or (isinstance(name, str) and not name.strip()):
        return ["The name field is required."]
    if not isinstance(name, str):
        return ["The name field must be a string."]
    if len(name) > 255:
        return ["The name field must not be greater than 255 characters."]
    return []


def validate_campaign(body: Any, campaign_id: str) -> dict[str, list[str]]:
    """The whole object is required: id, name, meta (with send_type) and status. Everything else is stored as
    given: fields the docs never list, nulls, and ``days_of_week`` as a string or a list."""
    if not isinstance(body, dict):
        body = {}
    errors: dict[str, list[str]] = {}
    if body.get("id") is None:
        errors["id"] = ["The id field is required."]
    elif body["id"] != campaign_id:
        errors["id"] = ["The id must match the campaign being updated."]
    if name_errors := _name_errors(body):
        errors["name"] = name_errors
    meta = body.get("meta")
    if meta is None:
        errors["meta"] = ["The meta field is required."]
    elif not isinstance(meta, dict):
        errors["meta"] = ["The meta field must be an array."]
    elif meta.get("send_type") is None:
        errors["meta.send_type"] = ["The meta.send_type field is required."]
    elif not isinstance(meta["send_type"], str) or not meta["send_type"].strip():
        # The docs never list the values (API_NOTES §2: manual, multistep, planner and more): any text is taken.
        errors["meta.send_type"] = ["The meta.send_type field must be a string."]
    if body.get("status") is None:
        errors["status"] = ["The status field is required."]
    elif body["status"] not in CAMPAIGN_STATUSES:
        errors["status"] = ["The selected status is invalid."]
    return errors


async def list_campaigns(request: Request) -> JSONResponse:
    team = _team(request)
    return envelopes.respond({"data": sandbox_of(request).campaigns.for_team(team)})


async def create_campaign(request: Request) -> JSONResponse:
    team = _team(request)
    body = await read_json(request)
    body = body if isinstance(body, dict) else {}
    if errors := _name_errors(body):
        return envelopes.comm_validation_error({"name": errors})
    return envelopes.respond({"data": sandbox_of(request).campaigns.create(team, body["name"])}, 201)


async def get_campaign(request: Request) -> JSONResponse:
    return envelopes.respond({"data": _campaign(request, _team(request))})


async def put_campaign(request: Request) -> JSONResponse:
    campaign = _campaign(request, _team(request))
    body = await read_json(request)
    if errors := validate_campaign(body, campaign["id"]):
        return envelopes.comm_validation_error(errors)
    return envelopes.respond({"data": sandbox_of(request).campaigns.replace(campaign["id"], body)})


async def stop_send(request: Request) -> JSONResponse:
    """Stops one send for good (nothing resumes it); the campaign object itself is left alone."""
    campaign = _campaign(request, _team(request))
    send_id = request.path_params["send"]
    send = sandbox_of(request).campaigns.sends.get(send_id)
    if send is None or send["sms_campaign_id"] != campaign["id"]:
        return envelopes.comm_error(404, f"No query results for model [App\\Models\\SmsCampaignSend] {send_id}")
    if send["status"] in FINISHED_SEND_STATUSES:
        text = f"The campaign send has already finished ({send['status']})."
        return envelopes.comm_validation_error({"campaignSend": [text]})
    send["status"] = "stopped"
    return envelopes.respond({"data": dict(send)})


ROUTES = [
    Route("/v1/sms/campaigns", list_campaigns, methods=["GET"]),
    Route("/v1/sms/campaigns", create_campaign, methods=["POST"]),
    Route("/v1/sms/campaigns/{campaign}", get_campaign, methods=["GET"]),
    Route("/v1/sms/campaigns/{campaign}", put_campaign, methods=["PUT"]),
    Route("/v1/sms/campaigns/{campaign}/stop/{send}", stop_send, methods=["POST"]),
]
