"""How a close failed, and recording it.

Transient (connection lost, deadlock, serialization, resources, lock timeouts): `permanent_failure` says None and the
caller may retry. Permanent (the config or the data, which a retry cannot fix): a coded `CloseError`; only known
transient conditions are retried, anything else (a bug included) fails once, visibly. A permanent failure of a close
is recorded on its period (`failure`, `failed_at`) in a transaction of its own, after the close's rolled back.
"""

from __future__ import annotations

from typing import Final

import asyncpg
import redis.exceptions
from tortoise.exceptions import DBConnectionError

from tenants.db.uow import tenant_unit_of_work
from tenants.i18n import _
from tenants.locks import advisory_key
from tenants.periods import repository
from tenants.periods.errors import CloseError, CloseErrorCode, encode_failure
from tenants.periods.resolution import config_invalid, published_versions, version_in_force
from tenants.rules.config import SchemeConfigInvalid
from tenants.tenancy.identity import TenantId

# SQLSTATE classes that a retry can fix: connection (08), transaction rollback: deadlock and serialization (40),
# insufficient resources (53), operator intervention: cancel, shutdown (57), system error (58); and lock timeouts.
_TRANSIENT_SQLSTATE_CLASSES: Final = frozenset({"08", "40", "53", "57", "58"})
_TRANSIENT_SQLSTATES: Final = frozenset({"55P03", "55006"})
_TRANSIENT_TYPES: Final = (
    ConnectionError,
    TimeoutError,
    OSError,
    asyncpg.InterfaceError,
    DBConnectionError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def _causes(error: BaseException) -> list[BaseException]:
    """The error and what it wraps (Tortoise wraps asyncpg's errors), outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain and len(chain) < 16:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def permanent_failure(error: BaseException) -> CloseError | None:
    """The coded failure that `error` means for a close, or None when it is transient (a retry may succeed).

    Only known transient conditions are retried; anything else (a bug included) fails once, visibly, instead of
    looping. Messages name the kind of problem, never the driver's text (that goes to the log with the trace)."""
    chain = _causes(error)
    for cause in chain:
        if isinstance(cause, CloseError):
            return cause
        if isinstance(cause, SchemeConfigInvalid):
            return config_invalid(cause)
    for cause in chain:
        sqlstate = getattr(cause, "sqlstate", None) if isinstance(cause, asyncpg.PostgresError) else None
        if sqlstate is not None:
            if sqlstate[:2] in _TRANSIENT_SQLSTATE_CLASSES or sqlstate in _TRANSIENT_SQLSTATES:
                return None
            if sqlstate.startswith("22"):
                return _out_of_range(f"SQLSTATE {sqlstate}")
            if sqlstate.startswith("54"):
                return _too_large(f"SQLSTATE {sqlstate}")
            return _unexpected(f"SQLSTATE {sqlstate}")
        if isinstance(cause, _TRANSIENT_TYPES):
            return None
    for cause in chain:
        if isinstance(cause, ArithmeticError):  # OverflowError, decimal overflow or invalid operation
            return _out_of_range(type(cause).__name__)
        if isinstance(cause, RecursionError | MemoryError):
            return _too_large(type(cause).__name__)
    return _unexpected(type(error).__name__)


def _out_of_range(reason: str) -> CloseError:
    return CloseError.of(
        CloseErrorCode.CONFIG_OUT_OF_RANGE,
        _(
            "A number in the scheme's config or in the period's data is out of range for the close ({reason}); "
            "correct the config and close the period again.",
            reason=reason,
        ),
        "config",
    )


def _too_large(reason: str) -> CloseError:
    return CloseError.of(
        CloseErrorCode.CONFIG_TOO_LARGE,
        _("The scheme's config is too large for the close ({reason}): use fewer metrics or rules.", reason=reason),
        "config",
    )


def _unexpected(reason: str) -> CloseError:
    return CloseError.of(
        CloseErrorCode.CLOSE_FAILED,
        _(
            "The close failed ({reason}) and will not be retried automatically; close the period again by hand.",
            reason=reason,
        ),
    )


async def record_close_failure(tenant_id: TenantId, scheme_id: int, key: str, failure: CloseError) -> None:
    """Record a close that failed for good on its period, in a transaction of its own (the close's rolled back).

    A period closed for the first time has no row yet (the failed close created it and rolled back): it is created,
    so that the cron sees the failure. A period left 'closing' goes back to what it was before the close started."""
    async with tenant_unit_of_work(tenant_id) as conn:
        await repository.advisory_xact_locks(conn, advisory_key("close", tenant_id, scheme_id, key))
        try:
            # The window only: the version's config may be what failed.
            _version, window = version_in_force(await published_versions(conn, tenant_id, scheme_id), key)
        except CloseError:
            window = None  # nothing to create a row from; a row that exists is still marked
        if window is not None:
            await repository.insert_period_if_absent(conn, tenant_id, scheme_id, key, window[2], window[3])
        await repository.record_failure(conn, tenant_id, scheme_id, key, encode_failure(failure.problem))
