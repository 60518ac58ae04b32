"""Status of background jobs (close, provisional refresh), kept in Redis so API and workers share it.

arq has no progress API; each job writes a small hash that GraphQL `job(id)` reads. A job belongs to a tenant: another
tenant asking for its id gets nothing, exactly as for an unknown id. A failed job keeps its error as a failed close
keeps it on its period (JSON with the code and the message's template and parameters, see errors.py: it is rendered in
the reader's language when read), the code alone and when it failed. A job waiting to be retried keeps the temporary
failure the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from redis.asyncio import Redis

from tenants.periods.errors import CloseError, PeriodProblem, decode_failure, encode_failure
from tenants.tenancy.identity import TenantId

JOB_TTL_SECONDS = 7 * 24 * 3600


def job_key(job_id: str) -> str:
    return f"kaohe:job:{job_id}"


def new_job_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class JobStatus:
    id: str
    kind: str
    status: str  # queued (also while waiting to be retried: stage 'retrying') | running | complete | failed
    stage: str
    done: int
    total: int
    error: PeriodProblem | None  # why it failed, or why it waits to be retried
    error_code: str | None  # the code alone (a CloseErrorCode)
    failed_at: datetime | None
    result: str | None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def _hset(redis: Redis, job_id: str, fields: dict[str, Any]) -> None:
    mapping = {key: "" if value is None else str(value) for key, value in fields.items()}
    # redis-py types commands as "Awaitable | value" because sync and async clients share stubs.
    await cast("Awaitable[int]", redis.hset(job_key(job_id), mapping=mapping))


async def create_job(redis: Redis, job_id: str, tenant_id: TenantId, kind: str, **fields: Any) -> None:
    base = {"tenant_id": tenant_id, "kind": kind, "status": "queued", "stage": "queued", "done": 0, "total": 0}
    await _hset(redis, job_id, {**base, **fields})
    await redis.expire(job_key(job_id), JOB_TTL_SECONDS)


async def update_job(redis: Redis, job_id: str, **fields: Any) -> None:
    await _hset(redis, job_id, fields)


async def fail_job(redis: Redis, job_id: str, error: CloseError) -> None:
    await update_job(
        redis,
        job_id,
        status="failed",
        stage="failed",
        error=encode_failure(error.problem),
        error_code=error.code.value,
        failed_at=datetime.now(UTC).isoformat(),
    )


async def retry_job(redis: Redis, job_id: str, error: CloseError) -> None:
    """The job failed for a temporary reason and waits to be run again."""
    await update_job(
        redis,
        job_id,
        status="queued",
        stage="retrying",
        error=encode_failure(error.problem),
        error_code=error.code.value,
    )


async def complete_job(redis: Redis, job_id: str, result: str, **fields: Any) -> None:
    """Done: what a try that failed before left (a temporary failure) is cleared."""
    await update_job(
        redis, job_id, status="complete", stage="done", result=result, error=None, error_code=None, **fields
    )


async def read_job(redis: Redis, tenant_id: TenantId, job_id: str) -> JobStatus | None:
    raw = await cast("Awaitable[dict[Any, Any]]", redis.hgetall(job_key(job_id)))
    data = {_text(key): _text(value) for key, value in raw.items()}
    if not data or data.get("tenant_id") != str(tenant_id):
        return None
    return JobStatus(
        id=job_id,
        kind=data.get("kind", ""),
        status=data.get("status", ""),
        stage=data.get("stage", ""),
        done=int(data.get("done") or 0),
        total=int(data.get("total") or 0),
        error=decode_failure(data.get("error")),
        error_code=data.get("error_code") or None,
        failed_at=datetime.fromisoformat(data["failed_at"]) if data.get("failed_at") else None,
        result=data.get("result") or None,
    )
