"""Small helpers every route module uses: the shared state and the request's JSON."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from starlette.requests import Request

if TYPE_CHECKING:
    from bot.devtools.sandbox.state import SandboxState


class _NotJson:
    def __repr__(self) -> str:
        return "NOT_JSON"


NOT_JSON: Any = _NotJson()  # what read_json returns for an empty or unparsable body


def sandbox_of(request: Request) -> SandboxState:
    return cast("SandboxState", request.app.state.sandbox)


async def read_json(request: Request) -> Any:
    body = await request.body()
    if not body:
        return NOT_JSON
    try:
        return json.loads(body)
    except ValueError:
        return NOT_JSON


def is_int(value: Any) -> bool:
    """A JSON integer (``true`` is a bool, not an int, whatever Python thinks)."""
    return isinstance(value, int) and not isinstance(value, bool)
