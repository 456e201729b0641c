"""The vendors' response bodies, success and error, in one place so every route answers alike.

Capillary v2: ``{"errors": [{"status": false, "code", "message"}], "warnings": []}``; v3: ``{"data", "errors",
"warnings"}``; Comm (a Laravel-style API): ``{"message", "errors": {"field": ["..."]}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from starlette.responses import JSONResponse

INVALID_INPUT = "Input is invalid, Please check request parameters or input xml/json"

# Plausible sentences for the codes faults and the limiter produce (the vendor's wording where we have it).
CODE_MESSAGES: dict[int, str] = {
    400: INVALID_INPUT,
    401: "Unauthorized: invalid or missing credentials",
    403: "Access denied",
    404: "Resource not found",
    429: "Too many requests: rate limit exceeded for this API key",
    461: "Search is busy, please retry after some time",
    498: "Token expired",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service temporarily unavailable",
    504: "Gateway timeout",
    521: "Another action is in progress on the same customer, please retry",
    4000: "Access denied: the API user's access group does not grant this resource",
    4001: "Authorization service is unavailable, please retry later",
}


class VendorError(Exception):
    """Raised inside a route to answer with a ready vendor error response."""

    def __init__(self, response: JSONResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def message_for(code: int) -> str:
    if code in CODE_MESSAGES:
        return CODE_MESSAGES[code]
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return f"Error {code}"


def respond(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def v2_error(code: int, message: str | None = None, *, status: int = 200,
             headers: Mapping[str, str] | None = None) -> JSONResponse:
    errors = [{"status": False, "code": code, "message": message or message_for(code)}]
    return respond({"errors": errors, "warnings": []}, status, headers)


def v3_data(data: Any, *, status: int = 200) -> JSONResponse:
    return respond({"data": data, "errors": None, "warnings": None}, status)


def v3_error(code: int, message: str | None = None, *, status: int = 200,
             headers: Mapping[str, str] | None = None) -> JSONResponse:
    return v3_errors([(code, message or message_for(code))], status=status, headers=headers)


def v3_errors(errors: list[tuple[int, str]], *, status: int,
              headers: Mapping[str, str] | None = None) -> JSONResponse:
    body = {"data": None, "errors": [{"code": code, "message": text} for code, text in errors], "warnings": None}
    return respond(body, status, headers)


def capillary_error(path: str, code: int, message: str | None = None, *, status: int = 200,
                    headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The v3 envelope under ``/v3/``, the v2 one everywhere else."""
    if path.startswith("/v3/"):
        return v3_error(code, message, status=status, headers=headers)
    return v2_error(code, message, status=status, headers=headers)


def comm_error(status: int, message: str | None = None, *, errors: Mapping[str, list[str]] | None = None,
               headers: Mapping[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"message": message or _comm_message(status)}
    if errors is not None:
        body["errors"] = dict(errors)
    return respond(body, status, headers)


def comm_validation_error(errors: Mapping[str, list[str]]) -> JSONResponse:
    """422 as Laravel words it: the first message, plus how many more there are."""
    messages = [text for texts in errors.values() for text in texts]
    summary = messages[0]
    if len(messages) > 1:
        more = len(messages) - 1
        summary += f" (and {more} more error{'s' if more > 1 else ''})"
    return comm_error(422, summary, errors=errors)


def _comm_message(status: int) -> str:
    known = {401: "Unauthenticated.", 403: "This action is unauthorized.", 404: "Not Found.",
             429: "Too Many Attempts.", 500: "Server Error"}
    if status in known:
        return known[status]
    try:
        return HTTPStatus(status).phrase + "."
    except ValueError:
        return "Error."
