"""How /comm upsert looks in Slack: the modal (loading, form, saving, done) and the confirmation message.

The form's block ids are the field names of :class:`bot.target_comms.service.Draft`, so a field error from the
validation goes straight under its field (``response_action="errors"``) and the shell can key answers by them.

The type and channel selects dispatch a ``block_actions`` when changed, and the form follows (handlers/comm/upsert.py).
Slack keeps what the person has in an input across ``views.update`` while its block_id and action_id stay the same,
and shows the new ``initial_value`` only when the action_id changes: so each field has two action ids, and
:func:`action_ids` switches a field's id exactly when the form is to show it a new value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from bot.target_comms.service import (
    FIELDS,
    MAX_MESSAGE,
    MAX_OFFSET,
    MAX_SENDER,
    MAX_SUBJECT,
    MIN_OFFSET,
    Draft,
    Invalid,
    Refill,
    Saved,
    UpsertOutcome,
    UpsertRequest,
    channel_id_of,
    normal,
)
from bot.target_comms.stale import Stale
from bot.vendors.capillary.loyalty import COMMUNICATION_TYPES, Person, TargetCommunication
from bot.vendors.errors import VendorError
from handlers.middleware.payloads import NotUnderstood, json_object
from handlers.ui.formatting import Block, channel_link, code, context, escape, fit, mention, mrkdwn, section, slack_date

CALLBACK = "comm.upsert"
TITLE = "Target communication"
_MAX_SHOWN = 500  # characters of a template quoted in a change list; the full text is in its own field
_MAX_OFFERED = 120  # characters of a template quoted in the note about an existing communication

# The selects whose change the bot follows (dispatch_action). Their action ids are routed to the access check, so
# both ids each can carry are listed; the other fields keep their field name (or it plus _ALT) as action id.
TYPE_ACTION = "comm.upsert.type"
CHANNEL_ACTION = "comm.upsert.channel"
_ALT = ".alt"
_DISPATCHING = {"type": TYPE_ACTION, "channel": CHANNEL_ACTION}
DISPATCH_ACTIONS = tuple(action + suffix for action in _DISPATCHING.values() for suffix in ("", _ALT))


class FormMeta(BaseModel):
    """The modal's private_metadata: where the command was typed (the access check and the confirmation use it)."""

    channel_id: str | None = None
    # What the form last filled in (bot.target_comms.service.basis_of): the fields the person has not changed since.
    basis: dict[str, str] = Field(default_factory=dict)
    # What the form last read of the target (bot.target_comms.stale.seen_of): a submission that would save over a
    # communication changed since is sent back. None: the form read nothing, so there is nothing to check against.
    seen: dict[str, str] | None = None

    def dump(self) -> str:
        return self.model_dump_json()

    @classmethod
    def load(cls, raw: str | None) -> FormMeta:
        try:
            return cls.model_validate(json_object(raw or "{}", "the form's metadata"))
        except (NotUnderstood, ValidationError):
            return cls()  # a modal we did not open: no channel, so the confirmation goes to the user's DM


def _plain(text: str) -> Block:
    return {"type": "plain_text", "text": text}


def _modal(meta: FormMeta, blocks: list[Block], *, submit: str | None = None, close: str = "Cancel") -> Block:
    view: Block = {"type": "modal", "callback_id": CALLBACK, "title": _plain(TITLE), "close": _plain(close),
                   "private_metadata": meta.dump(), "blocks": blocks}
    if submit:
        view["submit"] = _plain(submit)
    return view


def _option(label: str, value: str) -> Block:
    return {"text": _plain(label), "value": value}


def _text_input(block_id: str, label: str, value: str | None, *, action_id: str, multiline: bool = False,
                max_length: int = 3000, optional: bool = False, hint: str | None = None,
                placeholder: str | None = None) -> Block:
    element: Block = {"type": "plain_text_input", "action_id": action_id, "multiline": multiline,
                      "max_length": max_length}
    if value and len(value) > max_length:
        # Never cut a value to fit: saving would silently truncate it. Leave the field empty and say why.
        hint = (f"Today's value has {len(value):,} characters, more than this form can hold ({max_length:,}), so it "
                "is not shown: saving replaces it with what you type here. To keep it, cancel.")
    elif value:
        element["initial_value"] = value
    if placeholder:
        element["placeholder"] = _plain(placeholder)
    block: Block = {"type": "input", "block_id": block_id, "label": _plain(label), "element": element,
                    "optional": optional}
    if hint:
        block["hint"] = _plain(hint)
    return block


def _select(block_id: str, label: str, options: list[Block], value: str | None, *, action_id: str,
            dispatch: bool = False) -> Block:
    element: Block = {"type": "static_select", "action_id": action_id, "options": options,
                      "placeholder": _plain(f"Choose {label.lower()}")}
    chosen = next((option for option in options if option["value"] == value), None)
    if chosen is not None:
        element["initial_option"] = chosen
    block: Block = {"type": "input", "block_id": block_id, "label": _plain(label), "element": element}
    if dispatch:
        block["dispatch_action"] = True  # Slack sends a block_actions as soon as a choice is made
    return block


def _action_id(name: str) -> str:
    return _DISPATCHING.get(name, name)


def action_ids(view: Mapping[str, Any], shown: Draft, wanted: Draft) -> dict[str, str]:
    """Each field's action id for an update of ``view``, whose fields hold ``shown``, to show ``wanted``: a field
    whose value stays keeps its id (so Slack keeps whatever the person has in it, even typed since), a field that is
    to show another value gets its other id (so Slack shows the new value)."""
    current = {str(block.get("block_id")): str((block.get("element") or {}).get("action_id"))
               for block in view.get("blocks") or [] if isinstance(block, Mapping) and block.get("type") == "input"}
    ids: dict[str, str] = {}
    for name in FIELDS:
        base = _action_id(name)
        now = current.get(name, base)
        if normal(name, getattr(shown, name)) == normal(name, getattr(wanted, name)):
            ids[name] = now
        else:
            ids[name] = base if now != base else base + _ALT
    return ids


def channel_label(channel_id: int, channels: Mapping[int, str]) -> str:
    return channels.get(channel_id, f"channel {channel_id}")


def _existing_line(items: Sequence[TargetCommunication], channels: Mapping[int, str]) -> str:
    parts = [f"{item.communication_type} · {channel_label(item.channel_id, channels)} (id {item.id}"
             f"{'' if item.active else ', inactive'})" for item in items]
    return "Today this target has: " + "; ".join(parts) + "." if parts else "This target has no communications yet."


def loading_view(meta: FormMeta, group_id: int, target_id: int) -> Block:
    text = f":hourglass_flowing_sand: Reading the communications of target {target_id} in group {group_id}…"
    return _modal(meta, [section(text, block_id="loading")])


def failure_text(error: VendorError) -> str:
    """A vendor failure in mrkdwn, honest about a save that may have happened (a timeout after sending)."""
    lead = "*The save may have gone through.*" if error.maybe_applied else "*Not saved.*"
    return f"{lead} {escape(error.sentence)}"


def unread_text(error: VendorError) -> str:
    return f"*Today's values could not be read.* {escape(error.sentence)}"


def _pair(kind: str, channel_id: int, channels: Mapping[int, str]) -> str:
    return f"{kind} · {channel_label(channel_id, channels)}"


def status_text(draft: Draft, existing: Sequence[TargetCommunication], channels: Mapping[int, str]) -> str | None:
    """New or editing an existing one: what saving the shown type and channel does."""
    kind = normal("type", draft.type)
    if not kind:
        return None
    of_type = [item for item in existing if item.communication_type == kind]
    channel_id = channel_id_of(draft.channel, channels)
    if channel_id is None:
        if not of_type:
            return f"*New:* this target has no {escape(kind)} communication yet; saving creates it."
        where = ", ".join(_pair(kind, item.channel_id, channels) + f" (id {item.id})" for item in of_type)
        return f"Choose the channel: this target has {escape(where)}; another channel creates a new one."
    current = next((item for item in of_type if item.channel_id == channel_id), None)
    pair = escape(_pair(kind, channel_id, channels))
    if current is None:
        return f"*New:* this target has no {pair} communication yet; saving creates it."
    state = "" if current.active else ", inactive"
    return f"*Editing the existing {pair} communication* (id {current.id}{state}); saving updates it."


_FIELD_WORDS = {"channel": "the channel", "sender": "the sender", "subject": "the subject",
                "message": "the message", "offset": "the offset days", "active": "active"}


def _listed(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _clip(text: str) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= _MAX_OFFERED else one_line[:_MAX_OFFERED - 1] + "…"


def kept_text(result: Refill, group: str | None, target: str | None, channels: Mapping[int, str]) -> str:
    """The note when the form kept what the person changed rather than fill in another communication's values."""
    changed = _listed([_FIELD_WORDS[name] for name in result.kept])
    text = f"You changed {changed}, so the form kept your values."
    offer = result.offer
    if offer is not None:
        subject = f", subject “{escape(_clip(offer.subject_template))}”" if offer.subject_template else ""
        text += (f" Today's {escape(_pair(offer.communication_type, offer.channel_id, channels))} (id {offer.id}): "
                 f"sender {code(_clip(offer.sender or '(none)'))}{subject}, offset {offer.offset_days} days, "
                 f"{'active' if offer.active else 'inactive'}, message “{escape(_clip(offer.message_template))}”. "
                 f"To start from those values, close this form and run "
                 f"{code(f'/comm upsert {_text(group)} {_text(target)} {offer.communication_type}')}.")
    return text


def _text(value: str | None) -> str:
    return (value or "").strip()


def _context(text: str, block_id: str) -> Block:
    return {"type": "context", "block_id": block_id, "elements": [mrkdwn(fit(text, 3000))]}


def form_view(meta: FormMeta, draft: Draft, channels: Mapping[int, str], *,
              existing: Sequence[TargetCommunication] | None = None, problem: str | None = None,
              note: str | None = None, ids: Mapping[str, str] | None = None, stale: str | None = None) -> Block:
    """The form, filled with ``draft``; ``problem`` (mrkdwn: a vendor's answer) goes on top, the values stay;
    so does ``stale`` (mrkdwn, :func:`stale_text`: why a submission was not saved).

    ``existing`` (today's communications of the target, when read) adds whether saving creates or updates;
    ``note`` (mrkdwn) is a line about the last change of type or channel; ``ids`` the action ids
    (:func:`action_ids`) when the form replaces one the person may have typed in."""
    action = {name: (ids or {}).get(name) or _action_id(name) for name in FIELDS}
    blocks: list[Block] = []
    if stale:
        blocks.append(section(stale, block_id="stale"))
    if problem:
        blocks.append(section(f":x: {problem}\nYour values are below: fix them and submit again.",
                              block_id="error"))
    status = status_text(draft, existing, channels) if existing is not None else None
    if status:
        blocks.append(_context(status, "status"))
    if note:
        blocks.append(_context(note, "note"))
    if existing is not None:
        line = _existing_line(existing, channels)
        if existing:
            line += " The type and channel you submit decide which one is updated (or created, if it is new)."
        blocks.append(_context(escape(line), "existing"))
    type_options = [_option(kind, kind) for kind in COMMUNICATION_TYPES]
    channel_options = [_option(escape(f"{name} ({key})"), str(key)) for key, name in sorted(channels.items())]
    blocks += [
        _text_input("group", "Target group id", draft.group, action_id=action["group"], max_length=19,
                    placeholder="e.g. 2750"),
        _text_input("target", "Target id", draft.target, action_id=action["target"], max_length=19,
                    placeholder="e.g. 2996"),
        _select("type", "Communication type", type_options, normal("type", draft.type) or None,
                action_id=action["type"], dispatch=True),
        _select("channel", "Channel", channel_options, str(channel_id_of(draft.channel, channels)),
                action_id=action["channel"], dispatch=True),
        _text_input("sender", "Sender", draft.sender, action_id=action["sender"], max_length=MAX_SENDER,
                    hint="An SMS sender id, or the From address for EMAIL."),
        _text_input("subject", "Subject template", draft.subject, action_id=action["subject"],
                    max_length=MAX_SUBJECT, optional=True, hint="Required for EMAIL."),
        _text_input("message", "Message template", draft.message, action_id=action["message"], multiline=True,
                    max_length=MAX_MESSAGE),
        {"type": "input", "block_id": "offset", "label": _plain("Offset days"),
         "hint": _plain(f"Whole days, {MIN_OFFSET} to {MAX_OFFSET}."),
         "element": {"type": "number_input", "action_id": action["offset"], "is_decimal_allowed": False,
                     **({"initial_value": _text(draft.offset)} if _text(draft.offset) else {})}},
        # A new communication starts active; "no", "0", "off" and the like (text form) read as inactive.
        _select("active", "Active", [_option("Active", "true"), _option("Inactive", "false")],
                normal("active", draft.active), action_id=action["active"]),
    ]
    return _modal(meta, blocks, submit="Save")


_SEEN_WORDS = {"sender": "sender", "subject": "subject", "message": "message", "offset": "offset days",
               "active": "active"}


def _value_now(item: TargetCommunication, name: str) -> str:
    value = {"sender": item.sender, "subject": item.subject_template, "message": item.message_template,
             "offset": str(item.offset_days), "active": "true" if item.active else "false"}[name]
    return _quoted(value) if value else "(none)"


def stale_text(stale: Stale, channels: Mapping[int, str]) -> str:
    """Why the submission was not saved: what changed after the form read it, its values now, and who changed it."""
    pair = escape(_pair(stale.key[0], stale.key[1], channels))
    current = stale.current
    if current is None:
        lines = [f":warning: *Not saved: the {pair} communication the form was filled from is gone.* Saving now "
                 "creates it anew."]
    elif stale.created:
        lines = [f":warning: *Not saved: someone created the {pair} communication (id {current.id}) after this "
                 "form read the target.* It holds:"]
    else:
        lines = [f":warning: *Not saved: someone changed the {pair} communication (id {current.id}) after this form "
                 "was filled.* What changed:"]
    if current is not None:
        lines += [f"• {_SEEN_WORDS[name]}: {_value_now(current, name)}" for name in stale.fields]
        attribution = current.attribution
        updated = slack_date(attribution.last_updated_on)
        who = [f"Capillary: last updated by {_who(attribution.last_updated_by)} {updated}"]
        if stale.last_saved is not None:
            who.insert(0, f"last saved through commops by {mention(stale.last_saved.user_id)} "
                          f"{slack_date(stale.last_saved.at)}")
        lines.append(_capitalized("; ".join(who)) + ".")
    lines.append("Your values are below, as you left them: submit again to save them over these, or change them "
                 "first.")
    return "\n".join(lines)


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def saving_view(meta: FormMeta, request: UpsertRequest, channels: Mapping[int, str]) -> Block:
    what = escape(", ".join(f"{item.communication_type} · {channel_label(item.channel_id, channels)}"
                            for item in request.items))
    text = (f":hourglass_flowing_sand: Saving {what} for target {request.target_id} in group {request.group_id} "
            "in Capillary…")
    return _modal(meta, [section(text, block_id="saving")], close="Close")


def done_view(meta: FormMeta, outcome: UpsertOutcome, channels: Mapping[int, str], posted_to: str | None) -> Block:
    lines = [_headline(saved, channels) for saved in outcome.saved]
    if posted_to is None:
        where = "Saved, but the confirmation could not be posted in Slack: this window is the record."
    elif posted_to.startswith("D"):
        where = "The confirmation is in your direct messages with commops."
    else:
        where = f"The confirmation is in {channel_link(posted_to)}."
    blocks = [section("\n".join(lines), block_id="done"), context(where)]
    blocks += [context(f":warning: Capillary warns: {escape(text)}") for text in outcome.warnings[:5]]
    return _modal(meta, blocks, close="Done")


def _entered(values: Mapping[str, Mapping[str, Any]]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for block_id, by_action in values.items():
        if not isinstance(by_action, Mapping):
            continue
        for entry in by_action.values():
            if not isinstance(entry, Mapping):
                continue
            option = entry.get("selected_option")
            value = option.get("value") if isinstance(option, Mapping) else entry.get("value")
            found[str(block_id)] = value if isinstance(value, str) else None
    return found


def read_form(values: Mapping[str, Mapping[str, Any]]) -> Draft:
    """The Draft in a view_submission's ``view.state.values``."""
    found = _entered(values)
    return Draft(**{name: found.get(name) for name in FIELDS})


def initial_values(view: Mapping[str, Any]) -> Draft:
    """What a view's fields start with (their ``initial_*`` values)."""
    found: dict[str, str | None] = {}
    for block in view.get("blocks") or []:
        if not isinstance(block, Mapping) or block.get("type") != "input":
            continue
        element = block.get("element") or {}
        option = element.get("initial_option")
        value = option.get("value") if isinstance(option, Mapping) else element.get("initial_value")
        found[str(block.get("block_id"))] = value if isinstance(value, str) else None
    return Draft(**{name: found.get(name) for name in FIELDS})


def shown_values(view: Mapping[str, Any], action: Mapping[str, Any] | None = None) -> Draft:
    """What the fields of an open modal hold: its ``state`` (what the person entered) over its initial values,
    and over both the choice ``action`` (a block_actions entry) just made."""
    state = (view.get("state") or {}).get("values") or {}
    found = {**initial_values(view).as_dict(), **_entered(state if isinstance(state, Mapping) else {})}
    if action is not None and isinstance(action.get("selected_option"), Mapping):
        value = action["selected_option"].get("value")
        found[str(action.get("block_id"))] = value if isinstance(value, str) else None
    return Draft(**{name: found.get(name) for name in FIELDS})


def text_errors(invalid: Invalid, usage: str) -> str:
    """What is wrong with a one-line upsert, field by field, then ``usage`` (plain text, placeholders and all)."""
    lines = [f"• *{escape(name)}*: {escape(text)}" for name, text in invalid.errors.items()]
    return ":warning: Nothing was saved:\n" + "\n".join(lines) + f"\n\n{escape(usage)}"


# --- the confirmation -------------------------------------------------------------------------------------------


def _who(person: Person | None) -> str:
    return f"*{escape(person.label())}*" if person is not None else "*someone Capillary did not name*"


def _headline(saved: Saved, channels: Mapping[int, str]) -> str:
    item = saved.communication
    verb = "created" if saved.created else "updated"
    return (f":white_check_mark: {escape(_pair(item.communication_type, item.channel_id, channels))} "
            f"communication {item.id} {verb} for target {item.target_id} in group {item.target_group_id}")


def _attribution(saved: Saved) -> str:
    attribution = saved.communication.attribution
    if saved.created:
        return f"Created by {_who(attribution.created_by)} {slack_date(attribution.created_on)}"
    return (f"Updated by {_who(attribution.last_updated_by)} {slack_date(attribution.last_updated_on)}; "
            f"created by {_who(attribution.created_by)} {slack_date(attribution.created_on)}")


def _quoted(value: str) -> str:
    clipped = value if len(value) <= _MAX_SHOWN else value[:_MAX_SHOWN - 1] + "…"
    return f"`{escape(clipped)}`" if "\n" not in clipped and "`" not in clipped else f"“{escape(clipped)}”"


def _change_list(saved: Saved, previous_known: bool) -> str:
    if saved.created:
        return ""
    if not previous_known:
        return "_The previous values could not be read, so the changes are not known._"
    if not saved.changes:
        return "_Nothing changed: it was saved with the values it already had._"
    lines = [f"• {change.label}: {_quoted(change.before)} → {_quoted(change.after)}" for change in saved.changes]
    return "*What changed:*\n" + "\n".join(lines)


def _fields(item: TargetCommunication, channels: Mapping[int, str]) -> Block:
    pairs = [("Type", item.communication_type), ("Channel", channel_label(item.channel_id, channels)),
             ("Sender", item.sender or "(none)"), ("Subject", item.subject_template or "(none)"),
             ("Offset days", str(item.offset_days)), ("Active", "yes" if item.active else "no")]
    return {"type": "section", "fields": [mrkdwn(f"*{label}*\n{escape(value)[:1900]}") for label, value in pairs]}


def confirmation_blocks(outcome: UpsertOutcome, actor_id: str, channels: Mapping[int, str]) -> list[Block]:
    blocks: list[Block] = [context(f"*/comm upsert* by {mention(actor_id)}")]
    for saved in outcome.saved[:10]:  # 4 blocks each: well inside Slack's 50
        item = saved.communication
        blocks.append(section(f"{_headline(saved, channels)}\n{_attribution(saved)}"))
        blocks.append(_fields(item, channels))
        blocks.append(section(f"*Message template*\n{escape(item.message_template)}"))
        change_list = _change_list(saved, outcome.previous_known)
        if change_list:
            blocks.append(section(change_list))
    blocks += [context(f":warning: Capillary warns: {escape(text)}") for text in outcome.warnings[:5]]
    return blocks


def confirmation_text(outcome: UpsertOutcome) -> str:
    """Plain text for notifications and old clients."""
    parts = [f"{escape(saved.communication.communication_type)} communication {saved.communication.id} "
             f"{'created' if saved.created else 'updated'}" for saved in outcome.saved]
    return "Target communications: " + "; ".join(parts)
