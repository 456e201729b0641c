"""Secrets never reach a log line, at any level, whatever shape they arrive in."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging

import pytest

from bot.logs import configure_logging, known_secrets, redact
from bot.observability.context import RequestScope, serving
from bot.settings import Settings


def _settings() -> Settings:
    return Settings(_env_file=None, slack_bot_token="xoxb-1-2-abc", slack_signing_secret="sign-secret-0001",  # type: ignore[call-arg]
                    capillary_username="till.user", capillary_password="hunter2-pass",
                    comm_api_token="comm-token-0001")


def test_known_secrets_include_what_the_bot_derives_from_the_password() -> None:
    digest = hashlib.md5(b"hunter2-pass").hexdigest()
    basic = base64.b64encode(f"till.user:{digest}".encode()).decode()
    assert set(known_secrets(_settings())) == {"xoxb-1-2-abc", "sign-secret-0001", "hunter2-pass", "comm-token-0001",
                                              digest, basic}


@pytest.mark.parametrize("line", [
    "headers={'Authorization': 'Basic dGlsbDphYmM='}",
    "Authorization: Bearer comm-token-xyz",
    '{"X-CAP-API-OAUTH-TOKEN": "eyJhbGciOi.x.y"}',
    "token=xoxb-999-888-zzz&team_id=T1",
    "posting with token=someVerificationToken&team_id=T1",
    '{"accessToken": "tok_live_123", "ttlSeconds": 3600}',
    "password=hunter3 user=till",
    "client_secret: abcdef123456",
    "xapp-1-A1-123-abc in a traceback",
])
def test_secret_shapes_are_redacted_without_knowing_the_value(line: str) -> None:
    shown = redact(line)
    assert "[redacted]" in shown
    for fragment in ("dGlsbDphYmM", "comm-token-xyz", "eyJhbGciOi", "xoxb-999", "someVerificationToken",
                     "tok_live_123", "hunter3", "abcdef123456", "xapp-1"):
        assert fragment not in shown


def test_prose_about_tokens_is_left_alone() -> None:
    assert redact("the token expired; fetching a new token") == "the token expired; fetching a new token"


def test_every_level_and_tracebacks_are_redacted(root_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", known_secrets(_settings()), stream=stream)
    log = logging.getLogger("commops.test")
    digest = hashlib.md5(b"hunter2-pass").hexdigest()
    log.debug("login with %s", "hunter2-pass")
    log.info("md5 %s", digest)
    try:
        raise RuntimeError("signing with sign-secret-0001")
    except RuntimeError:
        log.exception("failed")
    output = stream.getvalue()
    assert "hunter2-pass" not in output and digest not in output and "sign-secret-0001" not in output
    assert output.count("[redacted]") == 4  # the message and the traceback of the exception both mention it


def test_json_lines_are_redacted_field_by_field(root_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", known_secrets(_settings()), stream=stream, fmt="json")
    log = logging.getLogger("commops.test")
    log.info('login with "%s" and token=%s', "hunter2-pass", "xoxb-999-888-zzz")
    try:
        raise RuntimeError('signing with "sign-secret-0001"')
    except RuntimeError:
        log.exception("failed")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["level"] for line in lines] == ["INFO", "ERROR"]
    assert lines[0]["message"] == 'login with "[redacted]" and token=[redacted]'
    assert lines[0]["logger"] == "commops.test" and lines[0]["time"].endswith("Z")
    assert "Traceback" in lines[1]["exception"] and "[redacted]" in lines[1]["exception"]
    output = stream.getvalue()
    assert "hunter2-pass" not in output and "sign-secret-0001" not in output and "xoxb-999" not in output
    assert "attempt_id" not in lines[0]  # no request caused these lines


def test_json_lines_carry_the_request_being_served(root_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream, fmt="json")
    with serving(RequestScope("command", "/resend", attempt_id="a1", user="U1", action="resend")):
        logging.getLogger("commops.test").info("resending")
    logging.getLogger("commops.test").info("after")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["attempt_id"], first["user"], first["action"]) == ("a1", "U1", "resend")
    assert "attempt_id" not in second and "user" not in second
