"""Live-update fan-out: in-process by default, through Redis pub/sub when configured.

Notifications are pokes ("conversation X changed"); subscribers re-read the database, so a
lost or duplicated poke can delay an update but never lose or reorder a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

logger = logging.getLogger(__name__)
REDIS_CHANNEL_PREFIX = "tandem:"


class Broker:
    """Deliver JSON-able notifications to subscribers of a channel in this process."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Any]]]] = {}
        self._lock = threading.Lock()

    def publish(self, channel: str, event: dict[str, Any]) -> None:
        """Send an event to this process's subscribers; safe to call from any thread."""
        self._deliver_local(channel, event)

    def _deliver_local(self, channel: str, event: dict[str, Any]) -> None:
        with self._lock:
            targets = list(self._subscribers.get(channel, ()))
        for loop, queue in targets:
            with contextlib.suppress(RuntimeError):  # the subscriber's loop has closed
                loop.call_soon_threadsafe(queue.put_nowait, event)

    @contextlib.asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[asyncio.Queue[Any]]:
        """Yield a queue that receives the channels' events until the block exits."""
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=1000)
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            for channel in channels:
                self._subscribers.setdefault(channel, set()).add(entry)
        try:
            yield queue
        finally:
            with self._lock:
                for channel in channels:
                    subscribers = self._subscribers.get(channel)
                    if subscribers is not None:
                        subscribers.discard(entry)
                        if not subscribers:
                            del self._subscribers[channel]

    async def start(self) -> None:
        """Start any background listener (none in-process)."""

    async def stop(self) -> None:
        """Stop any background listener."""


class RedisBroker(Broker):
    """Publish through Redis so every API process's subscribers hear every event."""

    def __init__(self, url: str) -> None:
        super().__init__()
        import redis

        self._url = url
        self._client = redis.Redis.from_url(url)
        self._task: asyncio.Task[None] | None = None

    def publish(self, channel: str, event: dict[str, Any]) -> None:
        """Publish to Redis; falls back to local delivery if Redis is unreachable."""
        try:
            self._client.publish(REDIS_CHANNEL_PREFIX + channel, json.dumps(event))
        except Exception:
            logger.warning("redis publish failed; delivering locally only", exc_info=True)
            self._deliver_local(channel, event)

    async def start(self) -> None:
        """Listen to Redis in the background and fan events out locally."""
        self._task = asyncio.create_task(self._listen())

    async def stop(self) -> None:
        """Cancel the listener."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _listen(self) -> None:
        import redis.asyncio as aioredis

        while True:
            try:
                client = aioredis.Redis.from_url(self._url)
                async with client.pubsub() as pubsub:
                    await pubsub.psubscribe(REDIS_CHANNEL_PREFIX + "*")
                    async for message in pubsub.listen():
                        if message.get("type") != "pmessage":
                            continue
                        channel = message["channel"].decode()[len(REDIS_CHANNEL_PREFIX) :]
                        self._deliver_local(channel, json.loads(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("redis listener failed; retrying in 1 s", exc_info=True)
                await asyncio.sleep(1)


def make_broker(redis_url: str | None) -> Broker:
    """Return the broker for this deployment: Redis when configured, else in-process."""
    return RedisBroker(redis_url) if redis_url else Broker()


def conversation_channel(conversation_id: str) -> str:
    """Return the channel that carries one conversation's changes."""
    return f"conversation:{conversation_id}"


def workspace_channel(workspace_id: str) -> str:
    """Return the channel that carries a workspace's queue changes."""
    return f"workspace:{workspace_id}"
