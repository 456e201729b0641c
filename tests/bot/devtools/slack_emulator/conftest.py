"""The fixtures every emulator test module uses: a fresh emulator on the module's server, on a clock the test
moves, and a slack_sdk client pointed at it. A module's tests run in the module's event loop
(``pytestmark = pytest.mark.asyncio(loop_scope="module")``), as ``emulator_server`` does."""

from __future__ import annotations

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.devtools.slack_emulator import SlackEmulator
from tests.bot.devtools.slack_emulator import TOKEN, FakeClock
from tests.conftest import EmulatorServer


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(emulator_server: EmulatorServer, clock: FakeClock) -> SlackEmulator:
    return emulator_server.mount(SlackEmulator(clock=clock))


@pytest.fixture
def client(emulator: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=emulator.api_url)
