"""Several middleware steps run as one Bolt middleware.

Bolt builds the whole set of a listener's arguments (some thirty, a few of them new objects) for every function
middleware it calls, on every request; a class middleware gets the request as it is. The bot's own middleware
(the replay guard, the access check) are steps of one :class:`Chain`, in order.

A step is ``async def step(req, resp, next_) -> BoltResponse | None`` with Bolt's own meaning: it calls ``next_()``
to let the request go on (and may return a response to carry forward), or returns the response that answers it
without calling ``next_()``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

Next = Callable[[], Awaitable[None]]
Step = Callable[[AsyncBoltRequest, BoltResponse, Next], Awaitable[BoltResponse | None]]


class Chain(AsyncMiddleware):
    def __init__(self, steps: Sequence[Step]) -> None:
        self._steps = tuple(steps)

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse,
                            next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        for step in self._steps:
            called = False

            async def go_on() -> None:
                nonlocal called
                called = True

            answer = await step(req, resp, go_on)
            if not called:
                return answer if answer is not None else resp  # answered here: Bolt sends it, no listener runs
            if answer is not None:
                resp = answer
        await next()
        return resp

    @property
    def name(self) -> str:
        return f"Chain({', '.join(getattr(step, '__name__', 'step') for step in self._steps)})"
