"""Units of work: the only way the app touches tenant data.

One transaction that starts with `SET LOCAL app.tenant_id = '<id>'`: transaction-local, so a pooled connection never
carries a tenant to the next user, and outside such a transaction RLS shows no tenant row at all (fail closed). It is
`SET LOCAL` (not `set_config()`) because Citus forwards SET LOCAL to the nodes a transaction touches
(docs/scale-out.md); the value is formatted from the integer of a `TenantId`, never from request text.
Tortoise keeps the transaction's connection in a ContextVar, so ORM queries inside the block run on it.

Work that must only happen once the data is committed (enqueueing a job that reads it, telling another process) is
registered with `after_commit(callback)` inside the unit of work: it runs after the outermost unit of work committed,
and never when it rolled back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Final

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

if TYPE_CHECKING:
    # Only a type: tenants.db sits below every domain at run time, tenancy included.
    from tenants.tenancy.identity import TenantId

AfterCommit = Callable[[], Awaitable[object]]

_pending: ContextVar[list[AfterCommit] | None] = ContextVar("kaohe_after_commit", default=None)


def set_tenant_sql(tenant_id: TenantId, *, hash_joins_only: bool = False) -> str:
    """The statement that scopes a transaction to one tenant (int() keeps anything but digits out of it); with
    `hash_joins_only`, planned without nested loops and without JIT (see `tenant_unit_of_work`), in the same round
    trip."""
    if not hash_joins_only:
        return f"SET LOCAL app.tenant_id = '{int(tenant_id)}'"
    # One statement (a prepared statement holds one command); set_config(..., true) is SET LOCAL.
    settings = "".join(f", set_config('{name}', 'off', true)" for name in HASH_JOINS_ONLY_SETTINGS)
    return f"SELECT set_config('app.tenant_id', '{int(tenant_id)}', true){settings}"


# The planner settings turned off by `tenant_unit_of_work(..., hash_joins_only=True)` (why: its docstring).
HASH_JOINS_ONLY_SETTINGS: Final = ("enable_nestloop", "jit")


def after_commit(callback: AfterCommit) -> None:
    """Run `callback` once the current unit of work (the outermost one, when nested) has committed."""
    pending = _pending.get()
    if pending is None:
        raise RuntimeError("after_commit() needs an open unit of work")
    pending.append(callback)


@asynccontextmanager
async def _collecting_after_commit() -> AsyncIterator[None]:
    if _pending.get() is not None:
        yield  # nested: the outermost unit of work runs the callbacks after its own commit
        return
    callbacks: list[AfterCommit] = []
    token = _pending.set(callbacks)
    try:
        yield
    finally:
        _pending.reset(token)
    # Reached only when the transaction inside committed (an exception skips this).
    for callback in callbacks:
        await callback()


@asynccontextmanager
async def tenant_unit_of_work(
    tenant_id: TenantId, *, hash_joins_only: bool = False
) -> AsyncIterator[BaseDBAsyncClient]:
    """A transaction scoped to one tenant.

    `hash_joins_only` is for reads that join whole periods of tables nothing has analysed yet (scorecards and ledger
    lines right after a close; autovacuum is off or late): the planner believes each such set has one row, so a
    nested loop looks as cheap as a hash join and it picks one that rescans a whole set per row of the other
    (quadratic: 45,753 rows thrown away by join filters for one scorecard among 310 staff). Without nested loops
    every join reads each input once, whatever the estimates. JIT goes too: the penalty that disables nested loops
    inflates the estimated cost past JIT's threshold, and compiling costs far more than these reads (0.7 s)."""
    async with _collecting_after_commit(), in_transaction() as conn:
        await conn.execute_query(set_tenant_sql(tenant_id, hash_joins_only=hash_joins_only))
        yield conn


@asynccontextmanager
async def platform_unit_of_work() -> AsyncIterator[BaseDBAsyncClient]:
    """For platform operator actions on the tenant table (create, list tenants); sees no tenant-owned rows."""
    async with _collecting_after_commit(), in_transaction() as conn:
        await conn.execute_query("SET LOCAL app.platform = 'on'")
        yield conn


@asynccontextmanager
async def global_unit_of_work() -> AsyncIterator[BaseDBAsyncClient]:
    """Platform tables only (users, the SECURITY DEFINER lookups); tenant tables read empty here."""
    async with _collecting_after_commit(), in_transaction() as conn:
        yield conn
