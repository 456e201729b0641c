"""The fixtures every sandbox test module uses: one server a module, put back to seeded data before each test.

A module pins the sandbox's clock by overriding ``sbx`` with its own ``restore`` call. The module's tests must
run in the module's event loop (``pytestmark = pytest.mark.asyncio(loop_scope="module")``), as ``server`` does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.bot.devtools.sandbox import Running, restore, running_sandbox


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server() -> AsyncIterator[Running]:
    async with running_sandbox() as running:
        yield running


@pytest.fixture
def sbx(server: Running) -> Running:
    restore(server.state)
    return server
