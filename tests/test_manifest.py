"""manifest.yml asks for exactly the bot scopes the code needs: derived from the Slack Web API calls in bot/ and
handlers/ (bot/devtools/ aside: it never talks to Slack), so a new call without its scope, or a scope nobody
uses any more, fails here."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from slack_sdk.web.async_client import AsyncWebClient

ROOT = Path(__file__).resolve().parents[1]

# The bot-token scopes each Web API method needs (its page on api.slack.com, "Required scopes", bot token).
SCOPES: dict[str, frozenset[str]] = {
    "auth.test": frozenset(),
    "chat.postMessage": frozenset({"chat:write"}),
    "chat.postEphemeral": frozenset({"chat:write"}),
    "chat.update": frozenset({"chat:write"}),
    "chat.delete": frozenset({"chat:write"}),
    "chat.scheduleMessage": frozenset({"chat:write"}),
    "views.open": frozenset(),
    "views.push": frozenset(),
    "views.update": frozenset(),
    "views.publish": frozenset(),
    "usergroups.list": frozenset({"usergroups:read"}),
    "usergroups.users.list": frozenset({"usergroups:read"}),
    "users.info": frozenset({"users:read"}),
    "users.list": frozenset({"users:read"}),
    "users.lookupByEmail": frozenset({"users:read.email"}),
    "conversations.info": frozenset({"channels:read", "groups:read"}),
    "conversations.open": frozenset({"im:write"}),
    "reactions.add": frozenset({"reactions:write"}),
    "team.info": frozenset({"team:read"}),
}
# Scopes that widen what a method may do rather than allow it, each with the method that makes it worth asking.
WIDENING = {"chat:write.public": "chat.postMessage"}  # post alerts into ALERT_CHANNEL without an invitation
# Bolt's `say` is chat.postMessage (`respond` uses the response_url and needs no scope).
LISTENER_ARGUMENTS = {"say": "chat.postMessage"}
WEB_API_METHODS = {name for name, value in vars(AsyncWebClient).items() if callable(value) and "_" in name
                   and not name.startswith("_")}


def _sources() -> Iterator[Path]:
    for package in ("bot", "handlers"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "devtools" not in path.relative_to(ROOT).parts:
                yield path


def _calls(path: Path) -> Iterator[tuple[str, int]]:
    """The Web API methods called in one file, as (``chat.postMessage``, line)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if name == "api_call":
            raise AssertionError(f"{path}:{node.lineno}: api_call hides which Web API method is called (and so "
                                 "which scope it needs); call the client's named method instead")
        if name in WEB_API_METHODS:
            yield name.replace("_", "."), node.lineno
        elif name in LISTENER_ARGUMENTS:
            yield LISTENER_ARGUMENTS[name], node.lineno


def called_methods() -> dict[str, str]:
    """Each Web API method the bot calls, with one place that calls it."""
    found: dict[str, str] = {}
    for path in _sources():
        for method, line in _calls(path):
            found.setdefault(method, f"{path.relative_to(ROOT)}:{line}")
    return found


def _manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "manifest.yml").read_text())
    return loaded


def needed_scopes() -> set[str]:
    methods = called_methods()
    unknown = {method: where for method, where in methods.items() if method not in SCOPES}
    assert not unknown, f"Web API methods without a scope entry in SCOPES (add them from api.slack.com): {unknown}"
    scopes = {scope for method in methods for scope in SCOPES[method]}
    scopes |= {scope for scope, method in WIDENING.items() if method in methods}
    features = _manifest()["features"]
    if features.get("slash_commands") or features.get("shortcuts"):
        scopes.add("commands")
    return scopes


def test_the_calls_are_found() -> None:
    # The finder itself: these calls are known to be in the code; if none is found, the finder is broken.
    methods = called_methods()
    assert {"chat.postMessage", "chat.postEphemeral", "chat.update", "views.open", "usergroups.users.list",
            "auth.test"} <= set(methods)


def test_the_manifest_asks_for_exactly_the_scopes_the_code_needs() -> None:
    asked = _manifest()["oauth_config"]["scopes"]["bot"]
    assert len(asked) == len(set(asked)), f"a scope is listed twice: {asked}"
    needed = needed_scopes()
    assert not set(asked) - needed, f"scopes the bot never uses (remove them from manifest.yml): {set(asked) - needed}"
    assert not needed - set(asked), f"scopes the code needs but manifest.yml lacks: {needed - set(asked)}"


def test_no_user_token_scopes() -> None:
    # The bot acts with its bot token only; a user scope would make admins authorize acting as themselves.
    assert "user" not in _manifest()["oauth_config"]["scopes"]


def test_every_shortcut_and_event_the_code_serves_is_in_the_manifest_and_no_other() -> None:
    from handlers.families import FAMILIES
    from handlers.middleware.authorize import merge_routes

    routes = merge_routes(family.ROUTES for family in FAMILIES)
    manifest = _manifest()
    shortcuts = {item["callback_id"]: item for item in manifest["features"].get("shortcuts") or []}
    assert set(shortcuts) == set(routes.shortcuts), "manifest.yml's shortcuts and the code's differ"
    for item in shortcuts.values():
        assert item["type"] in ("message", "global") and len(item["name"]) <= 24 and len(item["description"]) <= 80
    events = set((manifest["settings"].get("event_subscriptions") or {}).get("bot_events") or [])
    assert events == set(routes.events), "manifest.yml's bot_events and the events the code serves differ"


def test_the_home_tab_is_on_when_the_code_draws_it() -> None:
    app_home = _manifest()["features"].get("app_home") or {}
    assert app_home.get("home_tab_enabled") is True
    assert "views.publish" in called_methods()
    # Replies that cannot be posted in a channel go to the person by direct message: the Messages tab must show.
    assert app_home.get("messages_tab_enabled") is True
