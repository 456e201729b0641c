"""Editing a loyalty target's communications: validate what a person typed, upsert it, and say what changed.

Nothing here knows Slack: the modal and the text form both hand in a :class:`Draft` (the raw strings, keyed by the
field names below, which are also the modal's block ids) and get back either field errors or an outcome.

Created or updated? The upsert matches on (group, target, communicationType, channelId). The service reads the
target's communications just before the upsert: an identity that was not there is "created", and the previous
values give the change list. When that read fails, the answer's own attribution decides (createdOn equal to
lastUpdatedOn means created, as in seed 002).

Following a change of type or channel in the form (:func:`refill`): the form shows what the chosen (type, channel)
holds today, or empty fields for a new one, but only while the person has not changed what the form last filled
in. It remembers that fill as a fingerprint per field (:func:`basis_of`), so what they typed is never replaced.

A form submitted after someone else changed what it was filled from (bot/target_comms/stale.py): the form also
remembers a fingerprint of every communication of the target as it last read them, so the one a submission
would save is checked against what the form knew of it (the person may have switched type or channel since the
fill). If it changed (edited, or created, by someone else after the form read it), nothing is saved: the outcome
names the fields that changed, their values now, and who changed them last, and the next submission of the same
form (against what it now knows) saves.
"""

from __future__ import annotations

import hashlib
import logging
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, tzinfo
from typing import Any

from bot.actor import Actor
from bot.audit.log import AuditLog, AuditOutcome
from bot.errors import UsageError
from bot.target_comms.stale import Stale, identity_key, seen_of, stale_fields
from bot.vendors.capillary import CapillaryClient
from bot.vendors.capillary.loyalty import COMMUNICATION_TYPES, CommunicationItem, TargetCommunication
from bot.vendors.errors import VendorError

log = logging.getLogger("commops.communications")

ACTION = "comm.upsert"
DEFAULT_CHANNELS: dict[int, str] = {1: "SMS", 2: "EMAIL", 3: "MOBILE PUSH"}  # API_NOTES: the documented ids
CHANNEL_CACHE_SECONDS = 600.0  # channel names hardly ever change; one read per ten minutes is plenty
MAX_ID = 2**63 - 1  # Capillary ids are Java longs
# offsetDays is undocumented; the examples use 0-7. A negative or more-than-a-year offset is far likelier a typo.
MIN_OFFSET, MAX_OFFSET = 0, 365
MAX_SENDER = 100  # room for an email address or a long sender name; SMS sender ids are much shorter
MAX_SUBJECT = 250
MAX_MESSAGE = 2900  # below Slack's 3,000-character input and section limits, so the confirmation can show it all
TRUE_WORDS = frozenset({"true", "yes", "y", "1", "on", "active"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "off", "inactive"})

# Field names: the modal's block ids and the text form's keys.
FIELDS = ("group", "target", "type", "channel", "sender", "subject", "message", "offset", "active")
# The fields the form fills from an existing communication; the ids and the type stay as the person gave them.
FILLED = ("channel", "sender", "subject", "message", "offset", "active")
TEXT_KEYS = {"type": "type", "channel": "channel", "sender": "sender", "subject": "subject", "message": "message",
             "offset": "offset", "offsetdays": "offset", "active": "active"}


class Invalid(UsageError):
    """A form or one-line upsert that cannot be saved: what is wrong, field by field (field name -> sentence)."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {text}" for name, text in errors.items()))
        self.errors = dict(errors)


@dataclass(frozen=True)
class Draft:
    """The raw text of each field, as typed; None for a field left empty."""

    group: str | None = None
    target: str | None = None
    type: str | None = None
    channel: str | None = None  # a channel id, or (text form) its name
    sender: str | None = None
    subject: str | None = None
    message: str | None = None
    offset: str | None = None
    active: str | None = None

    @classmethod
    def of(cls, item: TargetCommunication) -> Draft:
        """Today's values of a communication, to start an edit from."""
        return cls(str(item.target_group_id), str(item.target_id), item.communication_type, str(item.channel_id),
                   item.sender, item.subject_template, item.message_template, str(item.offset_days),
                   "true" if item.active else "false")

    def as_dict(self) -> dict[str, str | None]:
        return {item.name: getattr(self, item.name) for item in fields(self)}


@dataclass(frozen=True)
class UpsertRequest:
    group_id: int
    target_id: int
    items: tuple[CommunicationItem, ...]


def _text(value: str | None) -> str:
    return (value or "").strip()


def positive_id(value: str | None, what: str) -> tuple[int | None, str | None]:
    text = _text(value)
    if not text:
        return None, f"Give the {what}."
    if not text.isdecimal() or not 0 < int(text) <= MAX_ID:
        return None, f"The {what} is a positive whole number, like 2750; “{text[:30]}” is not."
    return int(text), None


def channel_id_of(value: str | None, channels: Mapping[int, str]) -> int | None:
    """A channel by id (``2``) or name (``email``, ``mobile push``, ``MOBILE_PUSH``)."""
    text = _text(value)
    if text.isdecimal():
        return int(text) if int(text) in channels else None
    wanted = text.upper().replace("_", " ").replace("-", " ")
    return next((key for key, name in channels.items() if name.upper() == wanted), None)


def validate(draft: Draft, channels: Mapping[int, str]) -> UpsertRequest:
    """The request ``draft`` describes, or :class:`Invalid` naming every bad field (before any API call)."""
    errors: dict[str, str] = {}
    group_id, problem = positive_id(draft.group, "target group id")
    if problem:
        errors["group"] = problem
    target_id, problem = positive_id(draft.target, "target id")
    if problem:
        errors["target"] = problem
    kind = _text(draft.type).upper()
    if kind not in COMMUNICATION_TYPES:
        errors["type"] = f"Choose one of {', '.join(COMMUNICATION_TYPES)}."
    channel_id = channel_id_of(draft.channel, channels)
    if channel_id is None:
        known = ", ".join(f"{key} {name}" for key, name in sorted(channels.items()))
        errors["channel"] = f"Choose a channel ({known})."
    sender = _text(draft.sender)
    if not sender:
        errors["sender"] = "Give the sender (an SMS sender id or an email address)."
    elif len(sender) > MAX_SENDER:
        errors["sender"] = f"The sender is at most {MAX_SENDER} characters; this one has {len(sender)}."
    subject = _text(draft.subject)
    is_email = channel_id is not None and channels.get(channel_id, "").upper() == "EMAIL"
    if not subject and is_email:
        errors["subject"] = "An EMAIL communication needs a subject."
    elif len(subject) > MAX_SUBJECT:
        errors["subject"] = f"The subject is at most {MAX_SUBJECT} characters; this one has {len(subject)}."
    message = (draft.message or "").strip()
    if not message:
        errors["message"] = "Give the message template."
    elif len(message) > MAX_MESSAGE:
        errors["message"] = f"The message is at most {MAX_MESSAGE} characters; this one has {len(message)}."
    offset_text = _text(draft.offset)
    offset: int | None = None
    try:
        offset = int(offset_text)
    except ValueError:
        errors["offset"] = f"Offset days is a whole number from {MIN_OFFSET} to {MAX_OFFSET}."
    if offset is not None and not MIN_OFFSET <= offset <= MAX_OFFSET:
        errors["offset"] = f"Offset days is from {MIN_OFFSET} to {MAX_OFFSET}; {offset} is out of range."
    active_text = _text(draft.active).lower()
    if active_text not in TRUE_WORDS | FALSE_WORDS:
        errors["active"] = "Say whether it is active: true or false."
    if errors:
        raise Invalid({name: errors[name] for name in FIELDS if name in errors})
    assert group_id is not None and target_id is not None and channel_id is not None and offset is not None
    item = CommunicationItem.model_validate({
        "active": active_text in TRUE_WORDS, "channelId": channel_id, "communicationType": kind,
        "messageTemplate": message, "offsetDays": offset, "sender": sender,
        # Null rather than "" when there is none, as the vendor's own answers show for SMS.
        "subjectTemplate": subject or None,
    })
    return UpsertRequest(group_id, target_id, (item,))


def parse_text(args: str) -> Draft:
    """``<groupId> <targetId> type=START channel=SMS sender=… offset=1 active=true subject="…" message="…"``."""
    try:
        words = shlex.split(args)
    except ValueError as error:  # an unclosed quote
        raise Invalid({"text": f"The text cannot be read ({error}): close every quote."}) from None
    positional = [word for word in words if "=" not in word]
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    if len(positional) > 2:
        errors["text"] = (f"Only the group and target ids go without a name; write the others as key=value "
                          f"(“{positional[2][:30]}” has no key).")
    for word in words:
        if "=" not in word:
            continue
        key, _, value = word.partition("=")
        name = TEXT_KEYS.get(key.strip().lower())
        if name is None:
            errors[key[:30] or "text"] = f"“{key[:30]}” is not a field; use {', '.join(sorted(set(TEXT_KEYS)))}."
        else:
            values[name] = value
    missing = [name for name in ("type", "channel", "sender", "message", "offset", "active") if name not in values]
    for name in missing:
        errors[name] = f"{name} is required ({name}=…)."
    draft = Draft(group=positional[0] if positional else None,
                  target=positional[1] if len(positional) > 1 else None, **values)
    if errors:
        # Report the value problems of the fields that were given too, so one reply names every bad field.
        try:
            validate(draft, DEFAULT_CHANNELS)
        except Invalid as invalid:
            errors = {**{k: v for k, v in invalid.errors.items() if k not in missing}, **errors}
        raise Invalid(errors)
    return draft


# --- following a change of type or channel in the form -------------------------------------------------------


def normal(name: str, value: str | None) -> str:
    """A field's value as the form shows it: what tells a changed field from an untouched one."""
    text = _text(value)
    if name == "active":  # the form shows "Active" for anything but a false word, an empty value included
        return "false" if text.lower() in FALSE_WORDS else "true"
    return text.upper() if name == "type" else text


def basis_of(draft: Draft) -> dict[str, str]:
    """A short fingerprint of each field the form filled in, to tell later whether the person changed it."""
    return {name: hashlib.sha256(normal(name, getattr(draft, name)).encode()).hexdigest()[:10] for name in FILLED}


def edited(draft: Draft, basis: Mapping[str, str]) -> tuple[str, ...]:
    """The filled fields whose value is no longer what the form filled in. Without a basis (a form we did not
    fill), every field that is not at its default counts as changed."""
    known = {**basis_of(Draft()), **basis} if basis else basis_of(Draft())
    now = basis_of(draft)
    return tuple(name for name in FILLED if now[name] != known.get(name))


@dataclass(frozen=True)
class Refill:
    """What the form shows after its type or channel changed."""

    draft: Draft
    filled: bool  # True: the form was filled afresh (``draft`` is the new basis); False: the person's values stay
    current: TargetCommunication | None  # what saving the shown type and channel updates; None: saving creates it
    offer: TargetCommunication | None = None  # values kept: today's communication of that type, to mention
    kept: tuple[str, ...] = ()  # the fields the person had changed


def refill(now: Draft, existing: Sequence[TargetCommunication], basis: Mapping[str, str],
           channels: Mapping[int, str]) -> Refill:
    """Follow the type (or channel) the person just chose in ``now``.

    The communication of that type on the chosen channel, else (when the channel is still the one the form filled
    in) the first of that type, fills the form; with none, the fields go back to their defaults and saving creates
    it. If the person changed any filled field other than the channel, nothing is replaced: their values stay and
    the result names the existing communication instead.
    """
    kind = normal("type", now.type)
    changed = edited(now, basis)
    of_type = [item for item in existing if item.communication_type == kind]
    channel_id = channel_id_of(now.channel, channels)
    exact = next((item for item in of_type if item.channel_id == channel_id), None)
    typed = tuple(name for name in changed if name != "channel")
    if typed:
        return Refill(now, False, exact, exact or next(iter(of_type), None), typed)
    start = exact or (of_type[0] if of_type and "channel" not in changed else None)
    if start is not None:
        return Refill(replace(Draft.of(start), group=now.group, target=now.target), True, start)
    return Refill(Draft(now.group, now.target, now.type, now.channel), True, None)


# --- outcomes ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


_COMPARED: tuple[tuple[str, str], ...] = (("sender", "sender"), ("subject", "subject_template"),
                                          ("message", "message_template"), ("offset days", "offset_days"),
                                          ("active", "active"))


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def changes(before: TargetCommunication, after: TargetCommunication) -> tuple[Change, ...]:
    return tuple(Change(label, _shown(getattr(before, name)), _shown(getattr(after, name)))
                 for label, name in _COMPARED if getattr(before, name) != getattr(after, name))


@dataclass(frozen=True)
class Saved:
    communication: TargetCommunication
    created: bool
    previous: TargetCommunication | None  # None when created, or when the previous values could not be read
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True)
class UpsertOutcome:
    request: UpsertRequest
    saved: tuple[Saved, ...] = ()
    warnings: tuple[str, ...] = ()
    error: VendorError | None = None
    previous_known: bool = True  # False: the read before the upsert failed, so no change list
    stale: Stale | None = None  # the form was filled from values that changed since: nothing was saved


def classify(saved: Sequence[TargetCommunication], previous: Sequence[TargetCommunication] | None) -> tuple[Saved, ...]:
    """Created or updated, and what changed, for each communication the upsert answered."""
    before = {item.identity: item for item in previous} if previous is not None else None
    out: list[Saved] = []
    for item in saved:
        if before is None:
            attribution = item.attribution
            out.append(Saved(item, attribution.created_on == attribution.last_updated_on, None))
        elif item.identity in before:
            old = before[item.identity]
            out.append(Saved(item, False, old, changes(old, item)))
        else:
            out.append(Saved(item, True, None))
    return tuple(out)


def localized(item: TargetCommunication, zone: tzinfo) -> TargetCommunication:
    """Give offset-less vendor times the cluster's zone (CAPILLARY_TIMEZONE); aware times are kept."""
    attribution = item.attribution
    update = {name: moment.replace(tzinfo=zone) for name in ("created_on", "last_updated_on")
              if (moment := getattr(attribution, name)).tzinfo is None}
    if not update:
        return item
    return item.model_copy(update={"attribution": attribution.model_copy(update=update)})


class TargetCommsService:
    def __init__(self, capillary: CapillaryClient, *, audit: AuditLog, zone: tzinfo = UTC,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._capillary = capillary
        self._audit = audit
        self._zone = zone
        self._monotonic = monotonic
        self._channels: tuple[float, dict[int, str]] | None = None

    def known_channels(self) -> dict[int, str]:
        """Channel names without a call: the last ones read, else the documented ones."""
        return dict(self._channels[1]) if self._channels is not None else dict(DEFAULT_CHANNELS)

    async def channels(self) -> dict[int, str]:
        """Channel names from Capillary (cached), falling back to the documented ids when the read fails."""
        if self._channels is not None and self._monotonic() - self._channels[0] < CHANNEL_CACHE_SECONDS:
            return dict(self._channels[1])
        try:
            found = {channel.id: channel.name.strip().upper() for channel in await self._capillary.channels()}
        except VendorError as error:
            log.warning("channel names unavailable (%s); using the documented ones", error.kind)
            return self.known_channels()
        if not found:
            return self.known_channels()
        self._channels = (self._monotonic(), found)
        return dict(found)

    async def current(self, group_id: int, target_id: int) -> tuple[TargetCommunication, ...]:
        """The target's communications today, oldest first. Raises VendorError."""
        found = await self._capillary.target_communications(group_id, target_id)
        return tuple(sorted((localized(item, self._zone) for item in found), key=lambda item: item.id))

    async def upsert(self, request: UpsertRequest, actor: Actor, *, attempt_id: str | None = None,
                     seen: Mapping[str, str] | None = None) -> UpsertOutcome:
        """Upsert ``request`` once (never retried after it may have reached Capillary) and audit the outcome.

        ``seen`` (a form's, from :func:`seen_of`): what the person's form knew of the target's communications; one
        that changed since is not saved over (``UpsertOutcome.stale``). The check rests on the read that precedes
        the upsert: when that read fails, the upsert goes ahead unchecked, as it goes ahead without a change list."""
        started = time.perf_counter()
        previous: tuple[TargetCommunication, ...] | None
        try:
            previous = await self.current(request.group_id, request.target_id)
        except VendorError as error:
            # The upsert itself will say what is wrong if it is the same problem; else we only lose the diff.
            log.info("previous communications unreadable (%s); no change list", error.kind)
            previous = None
        if seen is not None and previous is not None:
            stale = await self._stale(request, seen, previous)
            if stale is not None:
                await self._record_stale(request, stale, actor, attempt_id, started)
                return UpsertOutcome(request, stale=stale)
        try:
            answer = await self._capillary.upsert_communications(request.group_id, request.target_id, request.items)
        except VendorError as error:
            outcome = UpsertOutcome(request, error=error, previous_known=previous is not None)
            await self._record(outcome, actor, attempt_id, started)
            return outcome
        saved = classify([localized(item, self._zone) for item in answer.communications], previous)
        outcome = UpsertOutcome(request, saved, answer.warnings, previous_known=previous is not None)
        await self._record(outcome, actor, attempt_id, started, request_id=answer.request_id)
        return outcome

    async def _stale(self, request: UpsertRequest, seen: Mapping[str, str],
                     now: tuple[TargetCommunication, ...]) -> Stale | None:
        by_key = {item.identity: item for item in now}
        for wanted in request.items:
            key = (wanted.communication_type, wanted.channel_id)
            known = seen.get(identity_key(*key))
            current = by_key.get(key)
            changed = stale_fields(known, current)
            if changed is None:
                continue
            last = None if current is None else await self._audit.latest((ACTION,), communication_id=str(current.id))
            return Stale(key, current, known is None, changed, seen_of(now), now, last)
        return None

    async def _record_stale(self, request: UpsertRequest, stale: Stale, actor: Actor, attempt_id: str | None,
                            started: float) -> None:
        kind, channel_id = stale.key
        what = "created" if stale.created else "gone" if stale.current is None else ", ".join(stale.fields)
        arguments = {"group_id": request.group_id, "target_id": request.target_id,
                     "items": [{"type": item.communication_type, "channel_id": item.channel_id}
                               for item in request.items],
                     "result": "stale", "changed": what}
        await self._audit.record(
            ACTION, AuditOutcome.INVALID, actor, arguments=arguments, error_code="stale",
            error=f"{kind} on channel {channel_id} changed after the form read it ({what}); not saved",
            communication_id=stale.current.id if stale.current is not None else None,
            latency_ms=(time.perf_counter() - started) * 1000, attempt_id=attempt_id)

    async def record_invalid(self, actor: Actor, arguments: Mapping[str, Any], invalid: Invalid,
                             attempt_id: str | None) -> None:
        await self._audit.record(ACTION, AuditOutcome.INVALID, actor, arguments=arguments, error=str(invalid),
                                 attempt_id=attempt_id)

    async def _record(self, outcome: UpsertOutcome, actor: Actor, attempt_id: str | None, started: float, *,
                      request_id: str | None = None) -> None:
        request = outcome.request
        arguments: dict[str, Any] = {
            "group_id": request.group_id, "target_id": request.target_id,
            "items": [{"type": item.communication_type, "channel_id": item.channel_id} for item in request.items],
        }
        latency = (time.perf_counter() - started) * 1000
        if outcome.error is not None:
            await self._audit.record(ACTION, AuditOutcome.VENDOR_ERROR, actor, arguments=arguments,
                                     error=outcome.error, latency_ms=latency, attempt_id=attempt_id)
            return
        arguments["created"] = [saved.communication.id for saved in outcome.saved if saved.created]
        arguments["changed"] = {str(saved.communication.id): [change.label for change in saved.changes]
                                for saved in outcome.saved if not saved.created}
        await self._audit.record(
            ACTION, AuditOutcome.OK, actor, arguments=arguments, request_id=request_id, latency_ms=latency,
            communication_id=",".join(str(saved.communication.id) for saved in outcome.saved), attempt_id=attempt_id,
        )

