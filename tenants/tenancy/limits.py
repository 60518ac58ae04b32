"""Rate limits of account actions (invitations, password reset requests): fixed windows counted in Redis.

Each attempt counts against every key it names (e.g. the tenant and the invited address); when any key is over its
limit the attempt is refused with RATE_LIMITED, whatever else is true (a reset request for an unknown address counts
and is refused exactly like one for a known address). Addresses and emails are hashed in the keys: Redis holds no
personal data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from tenants.i18n import _
from tenants.tenancy.errors import TenancyError, TenancyErrorCode

RATE_LIMITED_MESSAGE = _("Too many requests of this kind; try again later.")


@dataclass(frozen=True)
class Limit:
    """At most `limit` attempts per `window_seconds` under `key`."""

    key: str
    limit: int
    window_seconds: int


def limit_key(kind: str, *parts: str | int) -> str:
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()[:32]
    return f"kaohe:rate:{kind}:{digest}"


async def count_attempt(redis: Redis, limits: Sequence[Limit], field: str | None = None) -> None:
    """Counts one attempt against every limit (one round trip); TenancyError RATE_LIMITED when one is exceeded."""
    async with redis.pipeline(transaction=True) as pipe:
        for limit in limits:
            pipe.incr(limit.key)
            pipe.expire(limit.key, limit.window_seconds, nx=True)
        results = await pipe.execute()
    counts = results[0::2]
    if any(int(count) > limit.limit for count, limit in zip(counts, limits, strict=True)):
        raise TenancyError.of(TenancyErrorCode.RATE_LIMITED, RATE_LIMITED_MESSAGE, field)
