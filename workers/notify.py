"""Live scorecard updates over Redis pub/sub: the publisher the worker calls after a close or a refresh committed,
and the feed an API process listens with (the protocols are tenants/notify/__init__.py).

- Channels: `<queue name>:live:<tenant id>` (the queue name keeps deployments, and test runs, sharing a Redis apart,
  as workers/keys.py does for job ids). A message is the JSON of a ScorecardChange.
- Publishing never fails a job: the close or refresh has committed already, and a lost notification costs a
  subscriber a stale screen until its next refetch, while a failed job would be run again for nothing.
- The feed holds one pub/sub connection per API process, pattern-subscribed to every tenant's channel, and one reader
  task that hands each change to the process's listeners of that tenant through `PendingChange.offer` (never
  blocking: a listener that does not read keeps one coalesced change). After a lost connection the reader reconnects
  (redis-py subscribes the pattern again); changes published meanwhile are lost (delivery is at most once).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from server.settings import Settings
from tenants.notify import Accepts, PendingChange, ScorecardChange
from tenants.notify.service import (
    Snapshot,
    announce_close,
    announce_correction,
    announce_refresh,
    provisional_snapshot,
)
from tenants.periods.close import CloseOutcome
from tenants.tenancy.identity import TenantId

log = structlog.get_logger("kaohe.live")
RECONNECT_DELAYS: Final = (0.1, 0.5, 1.0, 2.0, 5.0)
_MAX_ID_DIGITS: Final = 19  # a bigint


def channel_prefix(settings: Settings) -> str:
    return f"{settings.queue_name}:live:"


def channel(settings: Settings, tenant_id: int) -> str:
    return f"{channel_prefix(settings)}{int(tenant_id)}"


class RedisScorecardPublisher:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self._redis = redis
        self._settings = settings

    async def publish(self, change: ScorecardChange) -> None:
        payload = json.dumps(change.to_json(), separators=(",", ":"))
        await self._redis.publish(channel(self._settings, change.tenant_id), payload)


def _publisher(ctx: dict[str, Any]) -> RedisScorecardPublisher:
    return RedisScorecardPublisher(ctx["redis"], ctx["settings"])


async def publish_after_close(
    ctx: dict[str, Any], tenant_id: TenantId, scheme_id: int, period_key: str, outcome: CloseOutcome
) -> None:
    """After close_period returned (its unit of work committed): tell subscribers, if it changed anything."""
    if not outcome.changed:
        return
    try:
        publisher = _publisher(ctx)
        await announce_close(publisher, tenant_id, scheme_id, period_key, outcome.period_id, outcome.revision)
        if outcome.paid_in is not None and outcome.paid_in != period_key:
            # An approved period's delta went into the next open period's statement: its subscribers hear of it.
            await announce_correction(
                publisher, tenant_id, scheme_id, outcome.period_id, outcome.revision, outcome.paid_in
            )
    except Exception:  # the close has committed: a lost notification must not fail (and rerun) it
        log.warning("live update after a close not sent", tenant_id=int(tenant_id), period=period_key, exc_info=True)


async def snapshot_before_refresh(tenant_id: TenantId, scheme_id: int, period_key: str) -> Snapshot | None:
    """The provisional scorecards' digests before a refresh; None when they cannot be read (then every provisional
    scorecard is announced as changed)."""
    try:
        return await provisional_snapshot(tenant_id, scheme_id, period_key)
    except Exception:
        log.warning("provisional snapshot not read", tenant_id=int(tenant_id), period=period_key, exc_info=True)
        return None


async def publish_after_refresh(
    ctx: dict[str, Any], tenant_id: TenantId, scheme_id: int, period_key: str, before: Snapshot | None
) -> None:
    try:
        await announce_refresh(_publisher(ctx), tenant_id, scheme_id, period_key, before)
    except Exception:
        log.warning("live update after a refresh not sent", tenant_id=int(tenant_id), period=period_key, exc_info=True)


class RedisScorecardFeed:
    """The API process's feed (tenants.notify.ScorecardFeed): `listen(tenant, accepts)`."""

    def __init__(self, settings: Settings) -> None:
        self._prefix = channel_prefix(settings)
        self._redis = Redis.from_url(settings.redis_url, decode_responses=True)
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._listeners: dict[int, set[PendingChange]] = {}
        self._start = asyncio.Lock()

    @property
    def listener_count(self) -> int:
        return sum(len(listeners) for listeners in self._listeners.values())

    async def _started(self) -> None:
        async with self._start:
            if self._reader is not None:
                return
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            await pubsub.psubscribe(f"{self._prefix}*")
            self._pubsub = pubsub
            self._reader = asyncio.create_task(self._read(pubsub), name="kaohe-live-feed")

    @asynccontextmanager
    async def listen(self, tenant_id: TenantId, accepts: Accepts) -> AsyncIterator[AsyncIterator[ScorecardChange]]:
        await self._started()
        pending = PendingChange(accepts)
        listeners = self._listeners.setdefault(int(tenant_id), set())
        listeners.add(pending)
        try:
            yield pending.changes()
        finally:
            listeners.discard(pending)
            if not listeners:
                self._listeners.pop(int(tenant_id), None)

    def dispatch(self, channel_name: str, data: str) -> None:
        """One message of the pattern subscription to the listeners of its tenant (a malformed one is dropped)."""
        tenant = channel_name.removeprefix(self._prefix)
        # A tenant id: ASCII digits (str.isdigit() also takes "²", which int() refuses), and few enough of them that
        # int() takes them (it refuses more than 4,300 digits) and the id can be a bigint.
        is_id = tenant.isascii() and tenant.isdigit() and len(tenant) <= _MAX_ID_DIGITS
        listeners = self._listeners.get(int(tenant)) if is_id else None
        if not listeners:
            return
        try:
            change = ScorecardChange.from_json(json.loads(data))
        # RecursionError: JSON nested too deep for the parser. Whatever the message, the reader task must live on.
        except (ValueError, TypeError, KeyError, RecursionError):
            log.warning("malformed live update dropped", channel=channel_name)
            return
        if change.tenant_id != int(tenant):
            return
        for pending in list(listeners):
            pending.offer(change)

    async def _read(self, pubsub: PubSub) -> None:
        failures = 0
        while True:
            try:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
                failures += 1
                log.warning("live feed lost Redis; reconnecting", delay=delay, exc_info=True)
                await asyncio.sleep(delay)
                continue
            failures = 0
            if message is not None and message.get("type") == "pmessage":
                self.dispatch(str(message["channel"]), str(message["data"]))

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self._redis.aclose()
