from __future__ import annotations

import pytest

from bot.settings import DEFAULT_ALERT_STATUSES, SettingsError, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: pytest.TempPathFactory) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "CAPILLARY_BASE_URL",
                 "ALERT_INTERVAL_SECONDS", "ALERT_STATUSES", "CAPILLARY_TIMEZONE", "LOG_LEVEL", "LOG_FORMAT",
                 "HEALTH_PORT", "DB_AUTO_UPGRADE", "RETENTION_DAYS"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_match_the_contract() -> None:
    settings = load_settings()
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.comm_api_url == "https://api.comm.com/api"
    assert settings.alert_interval_seconds == 300
    assert settings.alert_statuses == DEFAULT_ALERT_STATUSES
    assert settings.alert_lookback_hours == 24
    assert settings.capillary_rate_limit_per_minute == 100
    assert settings.port == 3000
    assert settings.health_port == 8080
    assert settings.log_format == "text"
    assert settings.alert_channel is None
    assert settings.db_auto_upgrade is True
    assert settings.retention_days == 30


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("ALERT_INTERVAL_SECONDS", "soon", "ALERT_INTERVAL_SECONDS is malformed"),
        ("ALERT_INTERVAL_SECONDS", "0", "greater than or equal to 1"),
        ("CAPILLARY_TIMEZONE", "Mars/Olympus", "IANA time zone"),
        ("SLACK_BOT_TOKEN", "xoxp-user", "xoxb-"),
        ("LOG_LEVEL", "chatty", "LOG_LEVEL is malformed"),
        ("LOG_FORMAT", "yaml", "LOG_FORMAT is malformed: Input should be 'text' or 'json', got 'yaml'"),
        ("HEALTH_PORT", "70000", "HEALTH_PORT is malformed"),
        ("CAPILLARY_BASE_URL", "eu.api", "http(s) URL"),
        ("DB_AUTO_UPGRADE", "maybe", "DB_AUTO_UPGRADE is malformed: Input should be a valid boolean"),
        ("RETENTION_DAYS", "0", "RETENTION_DAYS is malformed: Input should be greater than or equal to 1, got '0'"),
        ("RETENTION_DAYS", "-5", "greater than or equal to 1"),
        ("RETENTION_DAYS", "30.5", "RETENTION_DAYS is malformed: Input should be a valid integer"),
        ("RETENTION_DAYS", "a month", "RETENTION_DAYS is malformed"),
    ],
)
def test_a_malformed_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert expected in message
    assert name in message
    assert "\n" not in message


def test_log_format_takes_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_FORMAT", " JSON ")
    assert load_settings().log_format == "json"


def test_statuses_are_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERT_STATUSES", "failed, NOT-DELIVERED")
    assert load_settings().alert_statuses == ("FAILED", "NOT-DELIVERED")


def test_db_auto_upgrade_reads_false(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_AUTO_UPGRADE", "false")
    assert load_settings().db_auto_upgrade is False


def test_dotenv_in_the_working_directory_is_read(tmp_path: pytest.TempPathFactory) -> None:
    with open(".env", "w") as handle:
        handle.write("ALERT_LOOKBACK_HOURS=6\n")
    assert load_settings().alert_lookback_hours == 6


def test_capillary_needs_one_complete_credential_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPILLARY_BASE_URL", "https://eu.api.capillarytech.com")
    monkeypatch.setenv("CAPILLARY_USERNAME", "till")
    with pytest.raises(SettingsError, match="CAPILLARY_PASSWORD"):
        load_settings().require_capillary()
