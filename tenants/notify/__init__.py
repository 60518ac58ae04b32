"""Live updates of scorecards as the domain sees them: what changed (`ScorecardChange`), who publishes it and who
listens (the `ScorecardPublisher` and `ScorecardFeed` protocols), and the process's installed feed.

Invariants
- A change is published only once the close or provisional refresh that made it has committed (the worker calls the
  publisher after the service returned, workers/jobs.py): a subscriber never hears of a scorecard it cannot read yet.
- A change names the staff whose scorecards changed and their teams, or None for "too many to list": a listener that
  cannot tell treats it as concerning it (a spurious "refetch" costs one query, a missed update a stale screen).
- The transport (Redis pub/sub) lives in workers/notify.py; the domain knows only these protocols. Each API process
  installs its feed at startup (`install_scorecard_feed`), as it installs its job queue (tenants/jobs.py).
- Delivery is "at most once, coalesced": a listener that reads slowly gets the latest state of its subscription, not
  every change in between; a listener that never reads costs a bounded amount of memory (see `PendingChange`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol

from tenants.tenancy.identity import TenantId

# Above this many staff (or teams) a change lists none ("everyone in the period"): messages stay small however
# large the tenant, and every API process parses each one.
MAX_LISTED: Final = 2_000

ChangeKind = Literal["close", "refresh"]


@dataclass(frozen=True)
class ScorecardChange:
    tenant_id: int
    scheme_id: int
    period_key: str
    kind: ChangeKind
    revision: int
    # The staff whose scorecards changed, and the teams they are in; None: not listed (too many: assume any).
    staff_ids: frozenset[int] | None
    team_ids: frozenset[int] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant_id,
            "scheme": self.scheme_id,
            "period": self.period_key,
            "kind": self.kind,
            "revision": self.revision,
            "staff": sorted(self.staff_ids) if self.staff_ids is not None else None,
            "teams": sorted(self.team_ids) if self.team_ids is not None else None,
        }

    @classmethod
    def from_json(cls, data: Any) -> ScorecardChange:
        """Raises ValueError / TypeError / KeyError for anything that is not a change this module wrote."""
        if not isinstance(data, dict):
            raise TypeError("a change is a JSON object")
        kind = data["kind"]
        if kind not in ("close", "refresh"):
            raise ValueError(f"unknown change kind {kind!r}")
        staff, teams = data["staff"], data["teams"]
        return cls(
            tenant_id=_integer(data["tenant"]),
            scheme_id=_integer(data["scheme"]),
            period_key=str(data["period"]),
            kind=kind,
            revision=_integer(data["revision"]),
            staff_ids=frozenset(_integer(i) for i in staff) if staff is not None else None,
            team_ids=frozenset(_integer(i) for i in teams) if teams is not None else None,
        )


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("an id is an integer")
    return value


def listed(ids: frozenset[int] | None) -> frozenset[int] | None:
    """The ids as a change carries them: None when there are too many to list."""
    return ids if ids is not None and len(ids) <= MAX_LISTED else None


def merged(first: ScorecardChange, second: ScorecardChange) -> ScorecardChange:
    """Two changes of the same subscription as one, the second the later (one Redis channel keeps the order): its
    kind and revision, and everyone either of them changed."""

    def union(a: frozenset[int] | None, b: frozenset[int] | None) -> frozenset[int] | None:
        return listed(a | b) if a is not None and b is not None else None

    return ScorecardChange(
        tenant_id=second.tenant_id,
        scheme_id=second.scheme_id,
        period_key=second.period_key,
        kind=second.kind,
        revision=second.revision,
        staff_ids=union(first.staff_ids, second.staff_ids),
        team_ids=union(first.team_ids, second.team_ids),
    )


Accepts = Callable[[ScorecardChange], bool]


class PendingChange:
    """One listener's undelivered change. However many changes arrive while the listener is not reading, it holds
    one (merged: the latest revision, everyone changed, at most MAX_LISTED ids each), so a listener that never reads
    costs a bounded amount of memory and the feed never waits for it."""

    def __init__(self, accepts: Accepts) -> None:
        self._accepts = accepts
        self._change: ScorecardChange | None = None
        self._ready = asyncio.Event()
        self.offered = 0  # changes kept since the listener started (merged or not): for tests and metrics

    def offer(self, change: ScorecardChange) -> None:
        """Called by the feed for every change of the tenant; never blocks."""
        if not self._accepts(change):
            return
        self._change = change if self._change is None else merged(self._change, change)
        self.offered += 1
        self._ready.set()

    @property
    def waiting(self) -> ScorecardChange | None:
        return self._change

    async def changes(self) -> AsyncIterator[ScorecardChange]:
        while True:
            await self._ready.wait()
            self._ready.clear()
            change, self._change = self._change, None
            if change is not None:
                yield change


class ScorecardPublisher(Protocol):
    async def publish(self, change: ScorecardChange) -> None:
        """Tell every API process (fire and forget: nobody listening is not an error)."""
        ...


class ScorecardFeed(Protocol):
    def listen(
        self, tenant_id: TenantId, accepts: Accepts
    ) -> AbstractAsyncContextManager[AsyncIterator[ScorecardChange]]:
        """The tenant's changes that `accepts` keeps, as they arrive (coalesced while the listener is not reading),
        from the moment the context is entered until it is left."""
        ...


_installed: ScorecardFeed | None = None


def install_scorecard_feed(feed: ScorecardFeed | None) -> None:
    """Make `feed` the process's feed (None: the process has none any more, e.g. it is shutting down)."""
    global _installed
    _installed = feed


def installed_scorecard_feed() -> ScorecardFeed:
    if _installed is None:
        raise RuntimeError("no scorecard feed is installed in this process (tenants.notify.install_scorecard_feed)")
    return _installed
