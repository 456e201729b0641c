"""Modals: single-use trigger ids, ``views.open`` / ``views.push`` / ``views.update`` with Slack's checks on a
view, view stacks (at most 3 deep), hashes and external ids, and closing a view as the user would. Home tabs:
``views.publish``, one view per user (:attr:`Views.home_views`), with the same checks on its blocks."""

from __future__ import annotations

import copy
import itertools
import secrets
import time
from dataclasses import dataclass

from bot.devtools.slack_emulator.blocks import BlockChecker
from bot.devtools.slack_emulator.common import BOT_ID, JSON, MAX_VIEW_BLOCKS, EmulatorBase, Failure, problems
from bot.devtools.slack_payloads import API_APP_ID, TEAM_ID


@dataclass
class _Trigger:
    issued: float
    view_id: str | None
    used: bool = False


class Views(EmulatorBase):
    """Open modals by id (:attr:`views`), their stacks, and the trigger ids handed to the bot."""

    def __init__(self) -> None:
        super().__init__()
        self.views: dict[str, JSON] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._view_stacks: dict[str, list[str]] = {}  # root view id -> stack, root first
        self.home_views: dict[str, JSON] = {}  # user id -> the Home tab published for them
        self._ids = itertools.count(1)

    def new_trigger_id(self, *, view_id: str | None = None) -> str:
        """A single-use trigger id that expires after :attr:`trigger_ttl`; ``view_id`` when the interaction
        happened inside that modal (so ``views.push`` stacks onto it)."""
        trigger_id = f"{int(time.time())}{next(self._ids):04d}.{TEAM_ID[1:]}.{secrets.token_hex(16)}"
        self._triggers[trigger_id] = _Trigger(issued=self.clock(), view_id=view_id)
        return trigger_id

    def close_view(self, view_id: str) -> None:
        """The user closed (or submitted and closed) a modal: it and the views pushed on top of it go away."""
        view = self.views.get(view_id)
        if view is None:
            return
        stack = self._view_stacks.get(view["root_view_id"], [])
        if view_id in stack:
            for gone in stack[stack.index(view_id) :]:
                self.views.pop(gone, None)
            del stack[stack.index(view_id) :]
        self.views.pop(view_id, None)

    # --- Web API methods ------------------------------------------------------------------------------------

    def _check_trigger(self, args: JSON) -> _Trigger:
        trigger = self._triggers.get(str(args.get("trigger_id") or ""))
        if trigger is None:
            raise Failure("invalid_trigger_id")
        if trigger.used:
            raise Failure("exchanged_trigger_id")  # what Slack says for a second use
        if self.clock() - trigger.issued > self.trigger_ttl:
            raise Failure("expired_trigger_id")
        return trigger

    def _prepared_view(self, args: JSON, *, updating: JSON | None = None, kind: str = "modal") -> JSON:
        """Validate the ``view`` argument and return it as Slack stores it (ids and hash still to be set)."""
        view = args.get("view")
        if not isinstance(view, dict):
            raise Failure("invalid_arguments", extra=problems(["missing required field: view"]))
        checker = BlockChecker()
        if view.get("type") != kind:
            checker.fail("/view/type", f"must be a valid enum value ({kind})")
        checker.text(view.get("title"), "/view/title", 24, plain=True, required=kind == "modal")
        checker.text(view.get("submit"), "/view/submit", 24, plain=True, required=False)
        checker.text(view.get("close"), "/view/close", 24, plain=True, required=False)
        blocks = checker.blocks(view.get("blocks"), "/view/blocks", MAX_VIEW_BLOCKS)
        if any(b.get("type") == "input" for b in blocks) and not view.get("submit"):
            checker.fail("/view/submit", "must provide submit when the view has input blocks")
        for key, limit in (("private_metadata", 3000), ("callback_id", 255), ("external_id", 255)):
            if key in view:
                checker.length(view[key], f"/view/{key}", limit)
        if checker.problems:
            raise Failure("invalid_arguments", extra=problems(checker.problems))
        external_id = view.get("external_id") or ""
        if external_id and any(
            v["external_id"] == external_id and (updating is None or v["id"] != updating["id"])
            for v in self.views.values()
        ):
            raise Failure("duplicate_external_id")
        return {
            "team_id": TEAM_ID,
            "type": kind,
            "blocks": blocks,
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "title": view.get("title"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "app_id": API_APP_ID,
            "external_id": external_id,
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }

    def _new_hash(self) -> str:
        return f"{int(time.time())}.{secrets.token_urlsafe(6)}"

    def _store_view(self, prepared: JSON, previous: str | None, root: str | None) -> JSON:
        view_id = f"V0{next(self._ids):08d}"
        view = {
            "id": view_id,
            **prepared,
            "hash": self._new_hash(),
            "previous_view_id": previous,
            "root_view_id": root or view_id,
        }
        # Keep Slack's key order: id, team_id, type, blocks, ..., hash, title, ...
        order = [
            "id",
            "team_id",
            "type",
            "blocks",
            "private_metadata",
            "callback_id",
            "state",
            "hash",
            "title",
            "clear_on_close",
            "notify_on_close",
            "close",
            "submit",
            "previous_view_id",
            "root_view_id",
            "app_id",
            "external_id",
            "app_installed_team_id",
            "bot_id",
        ]
        view = {key: view[key] for key in order}
        self.views[view_id] = view
        self._view_stacks.setdefault(view["root_view_id"], []).append(view_id)
        return copy.deepcopy(view)

    def _views_open(self, args: JSON) -> JSON:
        trigger = self._check_trigger(args)
        prepared = self._prepared_view(args)
        trigger.used = True
        return {"view": self._store_view(prepared, None, None)}

    def _views_push(self, args: JSON) -> JSON:
        trigger = self._check_trigger(args)
        prepared = self._prepared_view(args)
        below = self.views.get(trigger.view_id) if trigger.view_id else None
        if below is not None and len(self._view_stacks.get(below["root_view_id"], [])) >= 3:
            raise Failure("push_limit_reached")
        trigger.used = True
        if below is None:
            return {"view": self._store_view(prepared, None, None)}
        stack = self._view_stacks[below["root_view_id"]]
        return {"view": self._store_view(prepared, stack[-1], below["root_view_id"])}

    def _views_update(self, args: JSON) -> JSON:
        view_id, external_id = args.get("view_id"), args.get("external_id")
        if external_id:
            current = next((v for v in self.views.values() if v["external_id"] == external_id), None)
        elif view_id:
            current = self.views.get(str(view_id))
        else:
            raise Failure("invalid_arguments", extra=problems(["either view_id or external_id is required"]))
        if current is None:
            raise Failure("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise Failure("hash_conflict")
        prepared = self._prepared_view(args, updating=current)
        if not prepared["external_id"]:
            prepared["external_id"] = current["external_id"]
        current.update(prepared)
        current["hash"] = self._new_hash()
        return {"view": copy.deepcopy(current)}

    def _views_publish(self, args: JSON) -> JSON:
        user_id = args.get("user_id")
        if not isinstance(user_id, str) or not user_id:
            raise Failure("invalid_arguments", extra=problems(["missing required field: user_id"]))
        if user_id[:1] not in ("U", "W") or not user_id.isalnum():
            raise Failure("user_not_found")
        current = self.home_views.get(user_id)
        if args.get("hash") and (current is None or args["hash"] != current["hash"]):
            raise Failure("hash_conflict")
        prepared = self._prepared_view(args, kind="home")
        view = {"id": current["id"] if current else f"V0{next(self._ids):08d}", **prepared,
                "hash": self._new_hash(), "previous_view_id": None}
        view["root_view_id"] = view["id"]
        self.home_views[user_id] = view
        return {"view": copy.deepcopy(view)}
