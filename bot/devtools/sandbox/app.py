"""Assemble the sandbox: Capillary at the root, Comm under ``/api``, the control API under ``/_sandbox``."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount

from bot.devtools.sandbox import capillary, comm, control, envelopes, target_groups
from bot.devtools.sandbox.envelopes import VendorError
from bot.devtools.sandbox.gateway import VendorGateway, vendor_of
from bot.devtools.sandbox.state import SandboxState


async def _vendor_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, VendorError)
    return exc.response


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and methods answer in the envelope of whoever owns the path."""
    assert isinstance(exc, HTTPException)
    path, status = request.url.path, exc.status_code
    vendor = vendor_of(path)
    if vendor == "comm":
        text = f"The route {path.lstrip('/')} could not be found." if status == 404 else None
        return envelopes.comm_error(status, text)
    if vendor == "capillary":
        return envelopes.capillary_error(path, status, f"{envelopes.message_for(status)}: {request.method} {path}",
                                         status=status)
    return JSONResponse({"error": f"{status}: {request.method} {path}"}, status_code=status)


def build_sandbox_app(state: SandboxState | None = None) -> Starlette:
    """The ASGI app; its state is ``app.state.sandbox`` (a fresh seeded :class:`SandboxState` unless given)."""
    state = state if state is not None else SandboxState()
    app = Starlette(
        routes=[*capillary.ROUTES, *target_groups.ROUTES, Mount("/api", routes=comm.ROUTES),
                Mount("/_sandbox", routes=control.ROUTES)],
        middleware=[Middleware(VendorGateway, state=state)],
        exception_handlers={VendorError: _vendor_error, 404: _http_error, 405: _http_error},
    )
    app.state.sandbox = state
    return app
