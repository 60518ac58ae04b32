"""Reading events back (dashboards, integrators checking what arrived)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tenants.tenancy.identity import TenantId
from tenants.tenancy.uow import tenant_unit_of_work


@dataclass(frozen=True)
class EventFilter:
    type: str | None = None
    staff_code: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


@dataclass(frozen=True)
class EventRows:
    rows: list[dict[str, Any]]
    total: int


async def list_events(tenant_id: TenantId, where: EventFilter, limit: int, offset: int) -> EventRows:
    conditions = ["e.tenant_id = $1"]
    params: list[Any] = [tenant_id]
    for clause, value in (
        ("e.type = ${}", where.type),
        ("s.code = ${}", where.staff_code),
        ("e.occurred_at >= ${}", where.occurred_from),
        ("e.occurred_at < ${}", where.occurred_to),
    ):
        if value is not None:
            params.append(value)
            conditions.append(clause.format(len(params)))
    where_sql = " AND ".join(conditions)
    # Codes come from joins in the same query: no per-row lookups.
    base = (
        "FROM event e LEFT JOIN staff s ON s.tenant_id = e.tenant_id AND s.id = e.staff_id "
        "LEFT JOIN customer c ON c.tenant_id = e.tenant_id AND c.id = e.customer_id "
        "LEFT JOIN team t ON t.tenant_id = e.tenant_id AND t.id = e.team_id "
        f"WHERE {where_sql}"
    )
    async with tenant_unit_of_work(tenant_id) as conn:
        total_rows = await conn.execute_query_dict(f"SELECT count(*) AS n {base}", params)
        rows = await conn.execute_query_dict(
            "SELECT e.id, e.external_id, e.type, e.occurred_at, e.received_at, s.code AS staff_code, "
            "c.code AS customer_code, t.code AS team_code, e.amount, e.value, e.attributes, e.status "
            f"{base} ORDER BY e.occurred_at, e.id LIMIT ${len(params) + 1} OFFSET ${len(params) + 2}",
            [*params, limit, offset],
        )
    for row in rows:
        if isinstance(row["attributes"], str):
            row["attributes"] = json.loads(row["attributes"])
    return EventRows(rows=rows, total=total_rows[0]["n"])
