"""The sandbox's demo credentials and the API users they act as.

Capillary Basic auth wants ``base64(username + ":" + md5hex(password))``; the sandbox refuses the plain password
so a client that forgets the md5 step fails here exactly as it would against the vendor.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


@dataclass(frozen=True)
class DemoCredentials:
    capillary_username: str = "demo.till"
    capillary_password: str = "demo-password"
    oauth_key: str = "demo-key"
    oauth_secret: str = "demo-secret"
    comm_token: str = "demo-comm-token"
    comm_team: str = "demo"
    other_team_token: str = "other-team-token"
    other_team: str = "other"
    org_id: int = 100737

    @property
    def capillary_password_secret(self) -> SecretStr:
        return SecretStr(self.capillary_password)

    @property
    def comm_token_secret(self) -> SecretStr:
        return SecretStr(self.comm_token)

    def basic_header(self) -> str:
        """The ``Authorization`` value a correct Capillary client sends."""
        raw = f"{self.capillary_username}:{md5_hex(self.capillary_password)}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def describe(self, url: str) -> str:
        """A few lines for the ``commops sandbox`` banner: how to point the bot at this sandbox."""
        return "\n".join([
            f"CAPILLARY_BASE_URL={url}",
            f"CAPILLARY_USERNAME={self.capillary_username}",
            f"CAPILLARY_PASSWORD={self.capillary_password}   (or CAPILLARY_OAUTH_KEY={self.oauth_key}"
            f" CAPILLARY_OAUTH_SECRET={self.oauth_secret})",
            f"COMM_API_URL={url}/api",
            f"COMM_API_TOKEN={self.comm_token}   (another team's token: {self.other_team_token})",
            f"control API: {url}/_sandbox/ (faults, latency, rate_limit, calls, stats, reset)",
        ])


DEMO = DemoCredentials()

# Who the API user is, as the upsert answer's attribution shows it (type values beyond TILL are our inference).
TILL_USER: dict[str, Any] = {
    "id": 75200001, "code": DEMO.capillary_username, "description": "Demo store till",
    "name": DEMO.capillary_username, "type": "TILL",
}
OAUTH_USER: dict[str, Any] = {
    "id": 75200002, "code": DEMO.oauth_key, "description": "Demo OAuth API client",
    "name": DEMO.oauth_key, "type": "OAUTH_CLIENT",
}
ADMIN_USER: dict[str, Any] = {
    "id": 75197372, "code": "ops.admin", "description": "Loyalty operations admin",
    "name": "ops.admin", "type": "ADMIN_USER",
}
COMM_TEAMS: dict[str, str] = {DEMO.comm_token: DEMO.comm_team, DEMO.other_team_token: DEMO.other_team}
