"""The merchant's external codes (staff, teams, customers) to our row ids, one query per kind and batch."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from tortoise.backends.base.client import BaseDBAsyncClient

if TYPE_CHECKING:
    # Only a type: at run time tenants.db sits below every domain, tenancy included (no import cycle).
    from tenants.tenancy.identity import TenantId

CodedTable = Literal["team", "staff", "customer"]


async def ids_by_code(
    conn: BaseDBAsyncClient, table: CodedTable, tenant_id: TenantId, codes: Iterable[str]
) -> dict[str, int]:
    """Ids of the stored rows with these codes (absent codes are absent from the answer). Callers pass only codes
    that can be stored (no NUL, no lone surrogate): checking items comes before looking them up."""
    lookup = sorted(set(codes))
    if not lookup:
        return {}
    # `table` is one of the literals above, never input; the tenant filter doubles RLS (and helps the planner).
    rows = await conn.execute_query_dict(
        f"SELECT id, code FROM {table} WHERE tenant_id = $1 AND code = ANY($2::text[])", [int(tenant_id), lookup]
    )
    return {row["code"]: row["id"] for row in rows}
