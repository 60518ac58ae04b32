"""Planner statistics after bulk writes.

Autovacuum may be off (it is on our machines) or lag behind a merchant's onboarding: a table filled by API upserts
or an import can still carry the statistics of an empty table, and a planner that believes a table holds one row
picks nested loops that re-run whole aggregates per row. After a bulk write that changed a large part of a table,
its statistics are refreshed through `kaohe_analyze` (a SECURITY DEFINER function: ANALYZE needs the table owner).
Call it after the write committed, outside the tenant's transaction: ANALYZE holds a lock until its own commit.
"""

from __future__ import annotations

from typing import Literal

from tortoise.connection import get_connection

AnalysedTable = Literal["team", "staff", "customer", "event"]

# ANALYZE samples at most 30,000 rows (default statistics target): cheap next to the writes that call it.
MIN_CHANGED_ROWS = 100
CHANGED_FRACTION = 0.2


def needs_analyze(estimated_rows: float, changed_rows: int) -> bool:
    """Never analysed (-1), or the write changed more than a fifth of what the planner believes is there."""
    if changed_rows < MIN_CHANGED_ROWS:
        return False
    return estimated_rows < 0 or changed_rows > CHANGED_FRACTION * max(estimated_rows, 1.0)


async def refresh_statistics(table: AnalysedTable, changed_rows: int) -> bool:
    """ANALYZE `table` when `changed_rows` make its statistics stale; True when it did."""
    connection = get_connection("default")
    rows = await connection.execute_query_dict(
        "SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)", [f"public.{table}"]
    )
    estimated = float(rows[0]["reltuples"]) if rows else -1.0
    if not needs_analyze(estimated, changed_rows):
        return False
    await connection.execute_query("SELECT kaohe_analyze($1)", [table])
    return True
