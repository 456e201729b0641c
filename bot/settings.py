"""Settings from the environment and ``.env``, validated once at start.

A missing or malformed setting becomes a :class:`SettingsError` whose message is one line naming the
environment variable and what it expects; the CLI prints it and exits with status 2.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AnyHttpUrl, Field, SecretStr, TypeAdapter, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_ALERT_STATUSES = ("NOT-DELIVERED", "FAILED", "SOFT_BOUNCED", "GTW_NOT_FOUND")

_http_url = TypeAdapter(AnyHttpUrl)


class SettingsError(Exception):
    """A setting is missing or malformed; ``str(err)`` is the one line to show."""


def _url(value: str | None, *, name: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        _http_url.validate_python(value)
    except ValidationError:
        raise ValueError(f"expected an http(s) URL such as https://{name}.example.com, got {value!r}") from None
    return value.rstrip("/")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"

    capillary_base_url: str | None = None
    capillary_username: str | None = None
    capillary_password: SecretStr | None = None
    capillary_oauth_key: SecretStr | None = None
    capillary_oauth_secret: SecretStr | None = None
    capillary_timezone: str = "UTC"
    capillary_rate_limit_per_minute: int = Field(default=100, ge=1, le=100_000)
    capillary_timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    comm_api_url: str = "https://api.comm.com/api"
    comm_api_token: SecretStr | None = None
    comm_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    comm_rate_limit_per_minute: int = Field(default=60, ge=1, le=100_000)

    alert_channel: str | None = None
    alert_interval_seconds: int = Field(default=300, ge=1, le=86_400)
    alert_watchlist: Path | None = None
    alert_statuses: Annotated[tuple[str, ...], NoDecode] = DEFAULT_ALERT_STATUSES
    alert_lookback_hours: int = Field(default=24, ge=1, le=24 * 90)

    # Vendor calls (one per /resend id) accepted and not finished: beyond these a request is answered "busy".
    max_pending_calls: int = Field(default=1000, ge=1, le=1_000_000)
    max_pending_calls_per_user: int = Field(default=100, ge=1, le=1_000_000)

    database_url: str = "sqlite+aiosqlite:///commops.db"
    db_auto_upgrade: bool = True  # commops run applies pending migrations at start (bot/store/schema.py)
    retention_days: int = Field(default=30, ge=1, le=3650)  # what the store keeps, and how long (bot/retention/)
    access_policy: Path | None = None
    port: int = Field(default=3000, ge=1, le=65_535)
    health_port: int = Field(default=8080, ge=1, le=65_535)  # Socket Mode: /healthz, /readyz, /metrics
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    @field_validator("slack_api_url")
    @classmethod
    def _slack_url(cls, value: str) -> str:
        checked = _url(value, name="slack")
        if checked is None:
            raise ValueError("expected the Slack Web API base URL, such as https://slack.com/api/")
        return checked + "/"

    @field_validator("capillary_base_url")
    @classmethod
    def _capillary_url(cls, value: str | None) -> str | None:
        return _url(value, name="eu.api.capillarytech")

    @field_validator("comm_api_url")
    @classmethod
    def _comm_url(cls, value: str) -> str:
        checked = _url(value, name="api.comm")
        if checked is None:
            raise ValueError("expected the Comm API base URL, such as https://api.comm.com/api")
        return checked

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("expected a bot token starting with xoxb-")
        return value

    @field_validator("slack_signing_secret", "capillary_password", "capillary_oauth_key", "capillary_oauth_secret",
                     "comm_api_token")
    @classmethod
    def _blank_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        # `FOO=` in a .env file means "not set", not "an empty secret" (which would fail every request).
        return None if value is not None and not value.get_secret_value().strip() else value

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            # The value is not echoed: a URL may carry a password.
            raise ValueError("expected a SQLAlchemy URL such as sqlite+aiosqlite:///commops.db") from None
        drivers = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}
        if url.get_backend_name() not in drivers:
            raise ValueError("expected sqlite+aiosqlite:///… or postgresql+asyncpg://…") from None
        wanted = drivers[url.get_backend_name()]
        if url.get_driver_name() != wanted:
            raise ValueError(f"expected the async driver: {url.get_backend_name()}+{wanted}://…") from None
        if wanted == "asyncpg" and importlib.util.find_spec("asyncpg") is None:
            raise ValueError("PostgreSQL needs the asyncpg driver: pip install 'commops[postgres]'") from None
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value() == "":
            return None
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("expected an app-level token starting with xapp-")
        return value

    @field_validator("capillary_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"expected an IANA time zone such as UTC or Asia/Kolkata, got {value!r}") from None
        return value

    @field_validator("alert_statuses", mode="before")
    @classmethod
    def _statuses(cls, value: Any) -> Any:
        if isinstance(value, str):
            items = tuple(part.strip().upper() for part in value.split(",") if part.strip())
            if not items:
                raise ValueError("expected a comma-separated list such as NOT-DELIVERED,FAILED")
            return items
        return value

    @field_validator("alert_channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if value[:1] not in ("C", "G", "D") or not value.isalnum():
            raise ValueError(f"expected a Slack channel id such as C0OPS0001, got {value!r}")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    # Derived views the rest of the code relies on.

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.capillary_timezone)

    @property
    def capillary_configured(self) -> bool:
        return self.capillary_base_url is not None

    @property
    def comm_configured(self) -> bool:
        return self.comm_api_token is not None

    def require_capillary(self) -> None:
        """Raise unless Capillary is reachable with one complete set of credentials."""
        if self.capillary_base_url is None:
            raise SettingsError("CAPILLARY_BASE_URL is not set: expected the cluster URL, e.g. "
                                "https://eu.api.capillarytech.com")
        has_basic = self.capillary_username is not None or self.capillary_password is not None
        has_oauth = self.capillary_oauth_key is not None or self.capillary_oauth_secret is not None
        if has_oauth:
            if self.capillary_oauth_key is None:
                raise SettingsError("CAPILLARY_OAUTH_KEY is not set: expected the OAuth client key that goes "
                                    "with CAPILLARY_OAUTH_SECRET")
            if self.capillary_oauth_secret is None:
                raise SettingsError("CAPILLARY_OAUTH_SECRET is not set: expected the OAuth client secret that "
                                    "goes with CAPILLARY_OAUTH_KEY")
        elif has_basic:
            if not self.capillary_username:
                raise SettingsError("CAPILLARY_USERNAME is not set: expected the till user name that goes with "
                                    "CAPILLARY_PASSWORD")
            if self.capillary_password is None:
                raise SettingsError("CAPILLARY_PASSWORD is not set: expected the till password that goes with "
                                    "CAPILLARY_USERNAME")
        else:
            raise SettingsError("CAPILLARY_USERNAME and CAPILLARY_PASSWORD (or CAPILLARY_OAUTH_KEY and "
                                "CAPILLARY_OAUTH_SECRET) are not set: expected one pair of Capillary credentials")

    def require_slack(self, mode: Literal["http", "socket"]) -> None:
        if self.slack_bot_token is None:
            raise SettingsError("SLACK_BOT_TOKEN is not set: expected the bot token (xoxb-…) from the Slack app's "
                                "OAuth & Permissions page")
        if mode == "http" and self.slack_signing_secret is None:
            raise SettingsError("SLACK_SIGNING_SECRET is not set: HTTP mode needs the signing secret from the "
                                "Slack app's Basic Information page")
        if mode == "socket" and self.slack_app_token is None:
            raise SettingsError("SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-…) with "
                                "the connections:write scope")


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    name = "_".join(str(part) for part in first["loc"]).upper() or "settings"
    message = str(first["msg"]).removeprefix("Value error, ")
    raw = first.get("input")
    if first["type"] in ("int_parsing", "float_parsing", "bool_parsing", "greater_than_equal", "less_than_equal",
                         "greater_than", "less_than", "literal_error"):
        message = f"{message}, got {raw!r}"
    return f"{name} is malformed: {message}"


def load_settings(**overrides: Any) -> Settings:
    """Read the settings; raise :class:`SettingsError` with one line naming the bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
