"""Background jobs as the domain sees them: the `JobQueue` interface and enqueueing after commit.

Invariants
- A job is enqueued by a service, through the unit of work's after-commit hook (`enqueue_after_commit`): it runs once
  the outermost unit of work has committed, so the job never looks for data that is not committed yet, and a unit of
  work that rolls back enqueues nothing. Resolvers never enqueue (an import-linter contract keeps schema/ away from
  this module and from workers/).
- The domain knows only this interface; the queue itself (arq) lives in workers/ (`workers.queue.ArqJobQueue`), the
  only package that imports arq. Each process installs its implementation at startup (`install_job_queue`: the API
  in its lifespan, the worker in its startup hook); a service asking for a job in a process without one fails before
  its unit of work commits.
- Job ids are tracking ids: the caller follows the job with them (GraphQL `job(id)`, tenants/periods/jobs.py).
- A close's tracking id is known before the commit (`close_after_commit`): the queue reserves it inside the unit of
  work (`JobQueue.reserve_close`: the close of the period already reserved, queued or running, or a new one) and
  enqueues it after the commit, so what the unit of work writes (the request's audit entry) can name the very job
  that will run it. A reservation whose unit of work rolled back is not released: nothing ran, and the next request
  for the period adopts it and enqueues it after its own commit (workers/queue.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from tenants.db.uow import after_commit
from tenants.tenancy.identity import TenantId


@dataclass(frozen=True)
class CloseReservation:
    """The close that will serve a request: `joined` when it was reserved, queued or running before the request."""

    job_id: str
    joined: bool


class JobQueue(Protocol):
    async def reserve_close(self, tenant_id: TenantId, scheme_id: int, period_key: str) -> CloseReservation:
        """Before the commit: the close of this period already reserved, queued or running, or a new one reserved
        now (its status exists, queued). Enqueues nothing."""
        ...

    async def enqueue_close(
        self, tenant_id: TenantId, scheme_id: int, period_key: str, *, force: bool, job_id: str | None = None
    ) -> str:
        """After the commit: make sure the close `job_id` (from `reserve_close`) is queued, unless it has started
        already; without `job_id`, reserve one first. Returns the tracking id."""
        ...

    async def enqueue_refresh(self, tenant_id: TenantId, scheme_id: int, period_key: str) -> str:
        """The tracking id of the provisional refresh of this period: the pending one, or a new one."""
        ...


_installed: JobQueue | None = None


def install_job_queue(queue: JobQueue | None) -> None:
    """Make `queue` the process's job queue (None: the process has none any more, e.g. its Redis is closed)."""
    global _installed
    _installed = queue


def installed_job_queue() -> JobQueue:
    if _installed is None:
        raise RuntimeError("no job queue is installed in this process (tenants.jobs.install_job_queue)")
    return _installed


class PendingJob:
    """A job that is enqueued once the unit of work commits; its id is known from then on."""

    def __init__(self) -> None:
        self._id: str | None = None

    @property
    def id(self) -> str:
        if self._id is None:
            raise RuntimeError("the job is enqueued when the outermost unit of work commits; its id is not known yet")
        return self._id


def enqueue_after_commit(enqueue: Callable[[JobQueue], Awaitable[str]]) -> PendingJob:
    """Call `enqueue` with the process's queue after the current unit of work (the outermost one) commits.

    Called inside a unit of work; the queue is looked up now, so a process without one fails before anything commits.
    A service that opens the unit of work itself reads the id once its `async with` block has ended."""
    queue = installed_job_queue()
    pending = PendingJob()

    async def run() -> None:
        pending._id = await enqueue(queue)

    after_commit(run)
    return pending


async def close_after_commit(tenant_id: TenantId, scheme_id: int, period_key: str, *, force: bool) -> CloseReservation:
    """Inside a unit of work: reserve the close that will serve this request now, enqueue it after the commit.

    The id is known at once (the unit of work may record it); nothing is enqueued when the unit of work rolls back."""
    queue = installed_job_queue()
    reserved: list[CloseReservation] = []

    async def run() -> None:
        if not reserved:  # the reservation failed and the caller carried on: the request was refused, nothing to run
            return
        await queue.enqueue_close(tenant_id, scheme_id, period_key, force=force, job_id=reserved[0].job_id)

    after_commit(run)  # first: outside a unit of work this fails before anything is reserved
    reserved.append(await queue.reserve_close(tenant_id, scheme_id, period_key))
    return reserved[0]
