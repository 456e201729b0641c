"""Capillary v3 target-group routes, including the communications upsert (seeds 000-002).

Our choices where the docs are silent: a path id that is not an integer or a body that fails validation is HTTP 400
with code 400 (one error per problem); an unknown group or target is HTTP 404 with code 404. Validation is all or
nothing: one bad item and nothing is written.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.devtools.sandbox import envelopes
from bot.devtools.sandbox.capillary import capillary_user
from bot.devtools.sandbox.clock import as_aware
from bot.devtools.sandbox.envelopes import INVALID_INPUT, VendorError
from bot.devtools.sandbox.loyalty import CHANNELS, CommunicationInput, Target, TargetGroup, validate_item
from bot.devtools.sandbox.routing import NOT_JSON, read_json, sandbox_of


def _path_int(request: Request, name: str) -> int:
    raw = request.path_params[name]
    if not raw.isdigit():
        raise VendorError(envelopes.v3_error(400, f"{INVALID_INPUT}: {name} must be an integer", status=400))
    return int(raw)


def _group(request: Request) -> TargetGroup:
    group_id = _path_int(request, "group_id")
    group = sandbox_of(request).loyalty.groups.get(group_id)
    if group is None:
        raise VendorError(envelopes.v3_error(404, f"Target group not found: {group_id}", status=404))
    return group


def _target(request: Request) -> Target:
    group = _group(request)
    target_id = _path_int(request, "target_id")
    target = group.targets.get(target_id)
    if target is None:
        raise VendorError(envelopes.v3_error(404, f"Target {target_id} not found in target group {group.id}",
                                             status=404))
    return target


async def list_groups(request: Request) -> JSONResponse:
    capillary_user(request)
    return envelopes.v3_data([group.render() for group in sandbox_of(request).loyalty.groups.values()])


async def channels(request: Request) -> JSONResponse:
    capillary_user(request)
    return envelopes.v3_data([{"id": key, "name": name} for key, name in CHANNELS.items()])


async def get_group(request: Request) -> JSONResponse:
    capillary_user(request)
    return envelopes.v3_data(_group(request).render())


async def list_targets(request: Request) -> JSONResponse:
    capillary_user(request)
    return envelopes.v3_data([target.render() for target in _group(request).targets.values()])


async def list_communications(request: Request) -> JSONResponse:
    capillary_user(request)
    zone = sandbox_of(request).zone
    found = sorted(_target(request).communications.values(), key=lambda item: item.id)
    return envelopes.v3_data([item.render(zone) for item in found])


async def upsert(request: Request) -> JSONResponse:
    user = capillary_user(request)
    state, target = sandbox_of(request), _target(request)
    body = await read_json(request)
    if body is NOT_JSON or not isinstance(body, list) or not body:
        detail = "the body must be a non-empty JSON array of communications"
        return envelopes.v3_error(400, f"{INVALID_INPUT}: {detail}", status=400)
    items: list[CommunicationInput] = []
    problems: list[str] = []
    for index, raw in enumerate(body):
        checked = validate_item(raw, index)
        if isinstance(checked, list):
            problems.extend(checked)
        else:
            items.append(checked)
    if problems:
        return envelopes.v3_errors([(400, f"{INVALID_INPUT}: {problem}") for problem in problems], status=400)
    now = as_aware(state.now())
    saved = [state.loyalty.upsert(target, item, user, now) for item in items]
    return envelopes.v3_data([communication.render(state.zone) for communication in saved])


ROUTES = [
    Route("/v3/targetGroups", list_groups, methods=["GET"]),
    Route("/v3/targetGroups/channels", channels, methods=["GET"]),
    Route("/v3/targetGroups/{group_id}", get_group, methods=["GET"]),
    Route("/v3/targetGroups/{group_id}/targets", list_targets, methods=["GET"]),
    Route("/v3/targetGroups/{group_id}/targets/{target_id}/communications", list_communications, methods=["GET"]),
    Route("/v3/targetGroups/{group_id}/targets/{target_id}/communications/upsert", upsert, methods=["POST"]),
]
