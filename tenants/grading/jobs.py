"""Grading and follow-up jobs as the domain sees them: the `GradingQueue` interface, installed per process.

Like tenants/jobs.py (whose `JobQueue` covers closes and refreshes): the domain knows only this interface, the arq
side is workers/grading.py, and a service enqueues through the unit of work's after-commit hook, so a job never looks
for data that is not committed and a rolled-back request enqueues nothing. A process without a queue installed fails
before its unit of work commits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from tenants.db.uow import after_commit
from tenants.jobs import PendingJob
from tenants.tenancy.identity import TenantId


class GradingQueue(Protocol):
    async def enqueue_grading(self, tenant_id: TenantId, month: str) -> str:
        """The tracking id (GraphQL `job(id)`) of the grading of this tenant's month: a new job, or the one queued."""
        ...


_installed: GradingQueue | None = None


def install_grading_queue(queue: GradingQueue | None) -> None:
    global _installed
    _installed = queue


def installed_grading_queue() -> GradingQueue:
    if _installed is None:
        raise RuntimeError("no grading queue is installed in this process (tenants.grading.jobs)")
    return _installed


def enqueue_grading_after_commit(enqueue: Callable[[GradingQueue], Awaitable[str]]) -> PendingJob:
    """Call `enqueue` with the process's grading queue once the current unit of work commits."""
    queue = installed_grading_queue()
    pending = PendingJob()

    async def run() -> None:
        pending._id = await enqueue(queue)

    after_commit(run)
    return pending
