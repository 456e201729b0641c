"""Block Kit validation of the blocks in messages and modals, with Slack's wording (:class:`BlockChecker`)."""

from __future__ import annotations

import copy
import re
import secrets
import string
from typing import Any

from bot.devtools.slack_emulator.common import JSON

_BLOCK_TYPES = frozenset(
    {"section", "divider", "image", "actions", "context", "input", "header", "rich_text", "file", "video", "markdown"}
)


class BlockChecker:
    """The subset of Slack's Block Kit validation that bots trip over in practice (sizes, counts, empty texts).

    Problems read like Slack's own: ``"must be less than 3001 characters [json-pointer:/blocks/0/text/text]"``.
    Also fills in a missing ``block_id`` / ``action_id`` with a random one, as Slack does when it stores a surface.
    """

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, pointer: str, message: str) -> None:
        self.problems.append(f"{message} [json-pointer:{pointer}]")

    def length(self, value: Any, pointer: str, maximum: int, *, minimum: int = 0) -> None:
        if not isinstance(value, str):
            self.fail(pointer, "must be a string")
        elif len(value) < minimum:
            self.fail(pointer, f"must be at least {minimum} characters")
        elif len(value) > maximum:
            self.fail(pointer, f"must be less than {maximum + 1} characters")

    def text(self, obj: Any, pointer: str, maximum: int, *, plain: bool = False, required: bool = True) -> None:
        if obj is None:
            if required:
                self.fail(pointer, "must provide an object")
            return
        if not isinstance(obj, dict):
            self.fail(pointer, "must provide an object")
            return
        allowed = ("plain_text",) if plain else ("plain_text", "mrkdwn")
        if obj.get("type") not in allowed:
            self.fail(f"{pointer}/type", "must be a valid enum value")
        if "text" not in obj:
            self.fail(pointer, "missing required field: text")
        else:
            self.length(obj["text"], f"{pointer}/text", maximum, minimum=1)

    def blocks(self, blocks: Any, pointer: str, maximum: int) -> list[JSON]:
        if not isinstance(blocks, list):
            self.fail(pointer, "must provide an array")
            return []
        if len(blocks) > maximum:
            self.fail(pointer, f"must provide no more than {maximum} items")
        seen: set[str] = set()
        out: list[JSON] = []
        for index, raw in enumerate(blocks):
            here = f"{pointer}/{index}"
            if not isinstance(raw, dict):
                self.fail(here, "must provide an object")
                continue
            block = copy.deepcopy(raw)
            block_id = block.setdefault("block_id", _random_id())
            self.length(block_id, f"{here}/block_id", 255, minimum=1)
            if block_id in seen:
                self.fail(f"{here}/block_id", "duplicate block_id")
            seen.add(str(block_id))
            self.block(block, here)
            out.append(block)
        return out

    def block(self, block: JSON, pointer: str) -> None:
        kind = block.get("type")
        if kind not in _BLOCK_TYPES:
            self.fail(pointer, "failed to match all allowed schemas")
            return
        if kind == "section":
            if "text" not in block and "fields" not in block:
                self.fail(pointer, "must provide either text or fields")
            self.text(block.get("text"), f"{pointer}/text", 3000, required=False)
            fields = block.get("fields")
            if fields is not None:
                if not isinstance(fields, list) or len(fields) > 10:
                    self.fail(f"{pointer}/fields", "must provide no more than 10 items")
                else:
                    for i, item in enumerate(fields):
                        self.text(item, f"{pointer}/fields/{i}", 2000)
            if "accessory" in block:
                self.elements([block["accessory"]], f"{pointer}/accessory", single=True)
        elif kind == "header":
            self.text(block.get("text"), f"{pointer}/text", 150, plain=True)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
                self.fail(f"{pointer}/elements", "must provide between 1 and 25 items")
            else:
                self.elements(elements, f"{pointer}/elements")
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
                self.fail(f"{pointer}/elements", "must provide between 1 and 10 items")
            else:
                for i, item in enumerate(elements):
                    if isinstance(item, dict) and item.get("type") == "image":
                        self.image(item, f"{pointer}/elements/{i}")
                    else:
                        self.text(item, f"{pointer}/elements/{i}", 3000)
        elif kind == "input":
            self.text(block.get("label"), f"{pointer}/label", 2000, plain=True)
            self.text(block.get("hint"), f"{pointer}/hint", 2000, plain=True, required=False)
            if not isinstance(block.get("element"), dict):
                self.fail(f"{pointer}/element", "must provide an object")
            else:
                self.elements([block["element"]], f"{pointer}/element", single=True)
        elif kind == "image":
            self.image(block, pointer)
            self.text(block.get("title"), f"{pointer}/title", 2000, plain=True, required=False)
        elif kind == "markdown":
            self.length(block.get("text"), f"{pointer}/text", 12_000, minimum=1)

    def image(self, image: JSON, pointer: str) -> None:
        if "image_url" not in image and "slack_file" not in image:
            self.fail(pointer, "must provide either image_url or slack_file")
        self.length(image.get("alt_text"), f"{pointer}/alt_text", 2000, minimum=1)

    def elements(self, elements: list[Any], pointer: str, *, single: bool = False) -> None:
        seen: set[str] = set()
        for index, element in enumerate(elements):
            here = pointer if single else f"{pointer}/{index}"
            if not isinstance(element, dict) or not isinstance(element.get("type"), str):
                self.fail(here, "must provide an object with a type")
                continue
            if element["type"] == "image":
                self.image(element, here)
                continue
            action_id = element.setdefault("action_id", _random_id())
            self.length(action_id, f"{here}/action_id", 255, minimum=1)
            if action_id in seen:
                self.fail(f"{here}/action_id", "duplicate action_id")
            seen.add(str(action_id))
            self.element(element, here)

    def element(self, element: JSON, pointer: str) -> None:
        kind = element["type"]
        self.text(element.get("placeholder"), f"{pointer}/placeholder", 150, plain=True, required=False)
        if "confirm" in element:
            self.confirm(element["confirm"], f"{pointer}/confirm")
        if kind == "button":
            self.text(element.get("text"), f"{pointer}/text", 75, plain=True)
            if "value" in element:
                self.length(element["value"], f"{pointer}/value", 2000)
            if "url" in element:
                self.length(element["url"], f"{pointer}/url", 3000)
            if "style" in element and element["style"] not in ("primary", "danger"):
                self.fail(f"{pointer}/style", "must be a valid enum value")
        elif kind in ("static_select", "multi_static_select", "radio_buttons", "checkboxes", "overflow"):
            self.options(element, pointer)
        elif kind == "plain_text_input":
            for key in ("min_length", "max_length"):
                value = element.get(key)
                if value is not None and (not isinstance(value, int) or not 0 <= value <= 3000):
                    self.fail(f"{pointer}/{key}", "must be between 0 and 3000")
            if "initial_value" in element:
                self.length(element["initial_value"], f"{pointer}/initial_value", 3000)
        elif kind == "number_input":
            if not isinstance(element.get("is_decimal_allowed"), bool):
                self.fail(pointer, "missing required field: is_decimal_allowed")
        elif kind == "datepicker":
            initial = element.get("initial_date")
            if initial is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(initial)):
                self.fail(f"{pointer}/initial_date", "must match the pattern YYYY-MM-DD")

    def options(self, element: JSON, pointer: str) -> None:
        kind = element["type"]
        limit = {"overflow": 5, "radio_buttons": 10, "checkboxes": 10}.get(kind, 100)
        plain = kind in ("static_select", "multi_static_select", "overflow")
        groups = element.get("option_groups")
        options: list[Any]
        if kind in ("static_select", "multi_static_select") and groups is not None:
            options = [o for g in groups if isinstance(g, dict) for o in (g.get("options") or [])]
            if "options" in element:
                self.fail(pointer, "must provide exactly one of options or option_groups")
        else:
            given = element.get("options")
            if not isinstance(given, list) or not given:
                self.fail(f"{pointer}/options", f"must provide between 1 and {limit} items")
                return
            options = given
        if len(options) > limit:
            self.fail(f"{pointer}/options", f"must provide no more than {limit} items")
        values: list[Any] = []
        for i, option in enumerate(options):
            here = f"{pointer}/options/{i}"
            if not isinstance(option, dict):
                self.fail(here, "must provide an object")
                continue
            self.text(option.get("text"), f"{here}/text", 75, plain=plain)
            self.length(option.get("value"), f"{here}/value", 150, minimum=1)
            values.append(option.get("value"))
        initial = element.get("initial_option")
        if isinstance(initial, dict) and initial.get("value") not in values:
            self.fail(f"{pointer}/initial_option", "must match one of the options")
        for i, initial in enumerate(element.get("initial_options") or []):
            if not isinstance(initial, dict) or initial.get("value") not in values:
                self.fail(f"{pointer}/initial_options/{i}", "must match one of the options")

    def confirm(self, confirm: Any, pointer: str) -> None:
        if not isinstance(confirm, dict):
            self.fail(pointer, "must provide an object")
            return
        self.text(confirm.get("title"), f"{pointer}/title", 100, plain=True)
        self.text(confirm.get("text"), f"{pointer}/text", 300)
        self.text(confirm.get("confirm"), f"{pointer}/confirm", 30, plain=True)
        self.text(confirm.get("deny"), f"{pointer}/deny", 30, plain=True)


def _random_id(length: int = 5) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))
