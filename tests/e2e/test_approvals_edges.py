"""The two-person rule at its edges, over signed HTTP: a request nobody can see is not left waiting, late clicks are
in the audit log, the Home tab lists only what the approver may decide now."""

from __future__ import annotations


from tests.e2e.conftest import Bot
from tests.e2e.test_approvals import LEAD, TWELVE, abot, request_message
from tests.e2e.test_home import open_home
from tests.e2e.test_home import text as home_text
from tests.e2e.test_shortcut import opened_view, posted_message, submit, use_shortcut

__all__ = ["abot"]


async def test_a_request_that_could_not_be_posted_does_not_wait_for_approval(abot: Bot) -> None:
    abot.slack.clear()
    message = posted_message("Undelivered today: " + ", ".join(map(str, TWELVE)))
    assert (await use_shortcut(abot, message)).status_code == 200
    view = await opened_view(abot)
    abot.slack.fail_next("chat.postMessage", "not_in_channel")  # the form has no response URL to fall back on
    assert (await submit(abot, view)).status_code == 200
    await abot.settle()
    told = str(abot.slack.calls("views.update")[-1].args["view"])
    assert "could not post the request" in told and "nothing waits for approval" in told
    # No approver is shown a request they could never find, and nothing can approve it later.
    assert "Nothing waits for your approval." in home_text(await open_home(abot, LEAD))
    rows = await abot.services.audit.query(actions=["approval.*"])
    assert [(row.action, row.outcome) for row in rows] == [("approval.request", "ok"), ("approval.withdrawn", "error")]
    assert rows[0].attempt_id == rows[1].attempt_id
    assert await abot.vendor_calls("/v2/communications/resend") == []
