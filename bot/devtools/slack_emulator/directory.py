"""Users, usergroups and channels as a test seeds them, and the Web API methods that read them
(``auth.test``, ``users.info``, ``usergroups.users.list``, ``conversations.info``)."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.devtools.slack_emulator.common import BOT_ID, BOT_NAME, BOT_USER_ID, JSON, EmulatorBase, Failure
from bot.devtools.slack_payloads import API_APP_ID, TEAM_DOMAIN, TEAM_ID


def _tz_details(tz: str) -> tuple[str, int]:
    if tz == "UTC":  # no tz database needed for the default (Windows has none without the tzdata package)
        return "UTC", 0
    try:
        now = datetime.now(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {tz!r}; pass tz_offset explicitly") from None
    offset = now.utcoffset()
    return now.tzname() or tz, int(offset.total_seconds()) if offset is not None else 0


class Directory(EmulatorBase):
    """Who and where: the workspace's users, usergroups and channels."""

    def __init__(self) -> None:
        super().__init__()
        self._channels: dict[str, JSON] = {}
        self._users: dict[str, JSON] = {}
        self._usergroups: dict[str, list[str]] = {}

    # --- seeding --------------------------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        tz: str = "UTC",
        tz_offset: int | None = None,
        email: str | None = None,
        is_admin: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
    ) -> JSON:
        """Add (or replace) a user as ``users.info`` reports it; ``tz_offset`` (seconds) defaults from ``tz``."""
        if tz_offset is None:
            tz_label, tz_offset = _tz_details(tz)
        else:
            tz_label = tz
        real = real_name or name
        profile: JSON = {
            "real_name": real,
            "real_name_normalized": real,
            "display_name": name,
            "display_name_normalized": name,
            "team": TEAM_ID,
        }
        if email is not None:
            profile["email"] = email
        if is_bot:
            profile["bot_id"] = BOT_ID
        user: JSON = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "deleted": deleted,
            "real_name": real,
            "tz": tz,
            "tz_label": tz_label,
            "tz_offset": tz_offset,
            "profile": profile,
            "is_admin": is_admin,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": int(time.time()),
        }
        self._users[user_id] = user
        return copy.deepcopy(user)

    def add_usergroup(self, usergroup_id: str, members: Iterable[str]) -> None:
        self._usergroups[usergroup_id] = list(members)

    def add_channel(self, channel_id: str, name: str | None = None, *, is_private: bool = False) -> JSON:
        """Add a channel as ``conversations.info`` reports it (ids starting with ``D`` are direct messages)."""
        created = int(time.time())
        if channel_id.startswith("D"):
            channel: JSON = {
                "id": channel_id,
                "created": created,
                "is_im": True,
                "is_org_shared": False,
                "user": "U" + channel_id[1:],
                "is_user_deleted": False,
                "priority": 0,
            }
        else:
            name = name or channel_id.lower()
            channel = {
                "id": channel_id,
                "name": name,
                "is_channel": not is_private,
                "is_group": is_private,
                "is_im": False,
                "is_mpim": False,
                "is_private": is_private,
                "created": created,
                "is_archived": False,
                "is_general": False,
                "is_shared": False,
                "is_ext_shared": False,
                "is_org_shared": False,
                "is_member": True,
                "name_normalized": name,
                "creator": "U0000000001",
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": "", "creator": "", "last_set": 0},
            }
        self._channels[channel_id] = channel
        return copy.deepcopy(channel)

    # --- helpers shared by methods --------------------------------------------------------------------------

    def _channel(self, args: JSON) -> str:
        channel = args.get("channel")
        if not isinstance(channel, str) or not channel:
            raise Failure("channel_not_found")
        if channel[0] in "UW":  # posting to a user id goes to the app's DM with that user
            channel = "D" + channel[1:]
        if channel not in self._channels:
            if self.strict_channels and not channel.startswith("D"):
                raise Failure("channel_not_found")
            self.add_channel(channel)
        return channel

    # --- Web API methods ------------------------------------------------------------------------------------

    def _auth_test(self, args: JSON) -> JSON:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_DOMAIN,
            "user": BOT_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": API_APP_ID,
            "is_enterprise_install": False,
        }

    def _users_info(self, args: JSON) -> JSON:
        user = self._users.get(str(args.get("user") or ""))
        if user is None:
            raise Failure("user_not_found")
        return {"user": copy.deepcopy(user)}

    def _usergroups_users_list(self, args: JSON) -> JSON:
        members = self._usergroups.get(str(args.get("usergroup") or ""))
        if members is None:
            raise Failure("no_such_subteam")
        return {"users": list(members)}

    def _conversations_info(self, args: JSON) -> JSON:
        channel = self._channel(args)
        return {"channel": copy.deepcopy(self._channels[channel])}
