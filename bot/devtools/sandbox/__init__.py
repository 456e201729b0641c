"""A local simulator of the Capillary and Comm APIs, for the shell, tests and benchmarks.

It speaks raw vendor JSON per ``API_NOTES.md`` and imports nothing from the bot's clients, so a misreading of the
vendor in a client cannot hide behind the same misreading here. Serve it with
``async with serve_asgi(build_sandbox_app()) as url`` (Capillary at ``url``, Comm at ``url + "/api"``).

Credentials (``DEMO``)
    Capillary Basic: ``demo.till`` / ``demo-password``, sent as ``Basic base64("demo.till:" + md5hex(password))``;
    the plain password is refused (HTTP 401). OAuth: key ``demo-key``, secret ``demo-secret``.
    Comm: ``Bearer demo-comm-token`` (team "demo"); ``Bearer other-team-token`` is another team (403 on demo's
    campaigns); anything else is 401 ``{"message": "Unauthenticated."}``.

Status codes chosen where the notes are silent
    - Capillary auth failure: HTTP 401, code 401, in the v2 or v3 envelope by path. Expired OAuth token: HTTP 401
      with code 498 in the body. Bad OAuth pair: HTTP 401, ``data: null``, code 320001. Bad OAuth body: HTTP 400.
    - Resend: unknown id is the 4223 body of seed 004 (no ``warnings`` key) under HTTP 200; a missing or
      non-integer ``messageId`` (strings included) is seed 004's 400 body under HTTP 400.
    - Interaction: unknown customer is code 1012 in the v2 envelope under HTTP 200; a bad identifierName, empty
      identifierValue or unknown ``type`` (accepted: sms, email, push, whatsapp, wechat, ALL) is the 400 body.
      ``deliveredTime`` is null unless DELIVERED/OPENED. Synthetic customers: any ``mobile`` 9199 + 8 digits.
    - Target groups: non-integer path id or invalid upsert body is HTTP 400 / code 400, one error per problem;
      unknown group or target is HTTP 404 / code 404. All seven body fields are required (subjectTemplate may be
      null). Identity: (group, target, communicationType, channelId) - see ``loyalty.py``.
    - Capillary 429s carry no Retry-After unless a fault rule sets one; Comm 429s always do.
    - Unknown paths: 404 in the owner's envelope. Every Capillary response has a fresh ``X-Cap-Requestid``.

See ``SandboxState`` for the Python hooks and ``control.py`` for the HTTP ones; ``SEED`` names the demo ids.
"""

from bot.devtools.sandbox.app import build_sandbox_app
from bot.devtools.sandbox.credentials import DEMO, DemoCredentials
from bot.devtools.sandbox.faults import FaultRule
from bot.devtools.sandbox.seed import SEED, SeedFacts
from bot.devtools.sandbox.state import SandboxState

__all__ = ["DEMO", "SEED", "DemoCredentials", "FaultRule", "SandboxState", "SeedFacts", "build_sandbox_app"]
