"""Every statement of the periods domain except the set-based aggregation (aggregation.py builds and runs that).

Functions take the caller's unit of work's connection and never open one: the entry points (close.py, provisional.py,
simulate.py, service.py, queries.py, scheduling.py) open it once and pass it down. jsonb columns are read with
`json_value` (asyncpg returns them as text through raw SQL); dynamic SQL text only ever holds $n placeholders made by
`tenants.db.params.BindParams`, the one bind-parameter builder (aggregation.py uses it too).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.db.codecs import json_value
from tenants.db.params import BindParams
from tenants.periods.models import Period
from tenants.periods.stored import flags_json, metrics_json
from tenants.rules.scorecard import Scorecard
from tenants.schemes.models import Scheme, SchemeVersion
from tenants.schemes.service import FrozenPeriod
from tenants.tenancy.identity import TenantId
from tenants.tenancy.models import Tenant

# Periods whose results exist (or are being computed): a scheme version must not become effective inside them.
FROZEN_PERIOD_STATES: Final = ("closing", "closed", "stale")

# staff id -> exact aggregates ({"m": {metric: raw}, "p": {penalty: count}}), as aggregation.py defines them
State = dict[str, dict[str, Any]]


# --- locks ---------------------------------------------------------------------------------------------------------


async def advisory_xact_locks(conn: BaseDBAsyncClient, *keys: int) -> None:
    """Transaction-level advisory locks, taken in the order given, in one round trip."""
    binds = BindParams()
    await conn.execute_query(
        "SELECT " + ", ".join(f"pg_advisory_xact_lock({binds.add(key)})" for key in keys), binds.values
    )


# --- schemes and versions as the periods domain reads them ---------------------------------------------------------


async def published_versions(
    conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int
) -> list[SchemeVersion] | None:
    """The scheme's published versions; None when the tenant has no such scheme."""
    scheme = await Scheme.filter(tenant_id=tenant_id, id=scheme_id).using_db(conn).first()
    if scheme is None:
        return None
    return list(await SchemeVersion.filter(tenant_id=tenant_id, scheme_id=scheme_id, status="published").using_db(conn))


async def scheme_version(
    conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int, version_id: int
) -> SchemeVersion | None:
    return await SchemeVersion.filter(tenant_id=tenant_id, id=version_id, scheme_id=scheme_id).using_db(conn).first()


# --- periods -------------------------------------------------------------------------------------------------------


async def insert_period_if_absent(
    conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int, key: str, starts_at: datetime, ends_at: datetime
) -> None:
    await conn.execute_query(
        "INSERT INTO period (tenant_id, scheme_id, key, starts_at, ends_at, state, revision, created_at) "
        "VALUES ($1, $2, $3, $4, $5, 'open', 0, now()) ON CONFLICT (tenant_id, scheme_id, key) DO NOTHING",
        [tenant_id, scheme_id, key, starts_at, ends_at],
    )


async def period_for_update(conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int, key: str) -> Period | None:
    return (
        await Period.filter(tenant_id=tenant_id, scheme_id=scheme_id, key=key)
        .select_for_update()
        .using_db(conn)
        .first()
    )


async def find_period(conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int, key: str) -> Period | None:
    return await Period.filter(tenant_id=tenant_id, scheme_id=scheme_id, key=key).using_db(conn).first()


async def periods_of_scheme(conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int) -> list[Period]:
    return list(await Period.filter(tenant_id=tenant_id, scheme_id=scheme_id).using_db(conn).order_by("-starts_at"))


async def first_frozen_period(tenant_id: TenantId, scheme_id: int, ends_after: datetime) -> FrozenPeriod | None:
    """The scheme's earliest period in a frozen state that ends after `ends_after`, in the caller's unit of work (the
    schemes domain asks it before publishing a version, see tenants/schemes/service.py; its lookup passes no
    connection, so this reads through the unit of work in force)."""
    period = (
        await Period.filter(
            tenant_id=tenant_id, scheme_id=scheme_id, state__in=FROZEN_PERIOD_STATES, ends_at__gt=ends_after
        )
        .order_by("starts_at")
        .first()
    )
    return FrozenPeriod(period.key, period.state) if period is not None else None


async def mark_closing(conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int, key: str) -> None:
    await conn.execute_query(
        "UPDATE period SET state = 'closing' WHERE tenant_id = $1 AND scheme_id = $2 AND key = $3 "
        "AND state IN ('open', 'stale')",
        [tenant_id, scheme_id, key],
    )


async def record_failure(conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int, key: str, failure: str) -> None:
    """The failure (encoded, errors.py) and its time; a period left 'closing' goes back to what it was."""
    await conn.execute_query(
        "UPDATE period SET failed_at = now(), failure = $4, "
        "state = CASE WHEN state <> 'closing' THEN state WHEN revision > 0 THEN 'stale' ELSE 'open' END "
        "WHERE tenant_id = $1 AND scheme_id = $2 AND key = $3",
        [tenant_id, scheme_id, key, failure],
    )


async def mark_closed_with_revision(
    conn: BaseDBAsyncClient, tenant_id: TenantId, period_id: int, revision: int, version_id: int
) -> None:
    """The new revision is in force: provisional scorecards go, the watermark is the tenant's latest event (the
    caller holds the ingestion lock, so no event commits meanwhile), the failure is cleared. One round trip."""
    await conn.execute_query(
        "WITH provisional AS (DELETE FROM scorecard WHERE tenant_id = $1 AND period_id = $2 AND revision = 0) "
        "UPDATE period SET state = 'closed', revision = $3, scheme_version_id = $4, "
        "watermark_event_id = (SELECT max(id) FROM event WHERE tenant_id = $1), closed_at = now(), "
        "failed_at = NULL, failure = NULL "
        "WHERE tenant_id = $1 AND id = $2",
        [tenant_id, period_id, revision, version_id],
    )


async def mark_closed_unchanged(conn: BaseDBAsyncClient, tenant_id: TenantId, period_id: int) -> None:
    """The stored revision still describes the period exactly: its watermark and version stay as they are."""
    await conn.execute_query(
        "UPDATE period SET state = 'closed', failed_at = NULL, failure = NULL WHERE tenant_id = $1 AND id = $2",
        [tenant_id, period_id],
    )


async def mark_provisional_refreshed(conn: BaseDBAsyncClient, tenant_id: TenantId, period_id: int) -> None:
    await conn.execute_query(
        "UPDATE period SET provisional_at = now() WHERE tenant_id = $1 AND id = $2", [tenant_id, period_id]
    )


# --- scorecards ----------------------------------------------------------------------------------------------------


async def write_scorecards(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    period_id: int,
    revision: int,
    version_id: int,
    cards: Sequence[Scorecard],
    states: dict[int, State],
    *,
    provisional: bool = False,
) -> None:
    await conn.execute_query(
        """
        INSERT INTO scorecard (tenant_id, period_id, revision, staff_id, scheme_version_id, total, grade, rank, metrics,
                               flags, state, provisional, computed_at)
        SELECT $1, $2, $3, c.staff_id, $4, c.total, c.grade, c.rank, c.metrics::jsonb, c.flags::jsonb,
               c.state::jsonb, $5, now()
        FROM unnest($6::bigint[], $7::numeric[], $8::text[], $9::int[], $10::text[], $11::text[], $12::text[])
             AS c(staff_id, total, grade, rank, metrics, flags, state)
        """,
        [
            tenant_id,
            period_id,
            revision,
            version_id,
            provisional,
            [c.staff_id for c in cards],
            [c.total for c in cards],
            [c.grade for c in cards],
            [c.rank for c in cards],
            [json.dumps(metrics_json(c), ensure_ascii=False) for c in cards],
            [flags_json(c) for c in cards],
            [json.dumps(states.get(c.staff_id, {})) for c in cards],
        ],
    )


async def delete_provisional_scorecards(conn: BaseDBAsyncClient, tenant_id: TenantId, period_id: int) -> None:
    await conn.execute_query(
        "DELETE FROM scorecard WHERE tenant_id = $1 AND period_id = $2 AND revision = 0", [tenant_id, period_id]
    )


async def stored_states(conn: BaseDBAsyncClient, tenant_id: TenantId, period_id: int, revision: int) -> dict[int, Any]:
    """staff id -> the stored exact aggregates of that revision (None where a scorecard predates stored states)."""
    rows = await conn.execute_query_dict(
        "SELECT staff_id, state FROM scorecard WHERE tenant_id = $1 AND period_id = $2 AND revision = $3",
        [tenant_id, period_id, revision],
    )
    return {row["staff_id"]: json_value(row["state"]) for row in rows}


@dataclass(frozen=True)
class StoredScorecard:
    """What decides whether a re-close changed anything (metric values follow from the state and the version)."""

    staff_id: int
    scheme_version_id: int
    total: Decimal
    grade: str | None
    rank: int
    flags: Any
    state: Any


async def stored_scorecards(
    conn: BaseDBAsyncClient, tenant_id: TenantId, period_id: int, revision: int
) -> list[StoredScorecard]:
    rows = await conn.execute_query_dict(
        "SELECT staff_id, scheme_version_id, total, grade, rank, flags, state FROM scorecard "
        "WHERE tenant_id = $1 AND period_id = $2 AND revision = $3",
        [tenant_id, period_id, revision],
    )
    return [
        StoredScorecard(
            r["staff_id"],
            r["scheme_version_id"],
            r["total"],
            r["grade"],
            r["rank"],
            json_value(r["flags"]),
            json_value(r["state"]),
        )
        for r in rows
    ]


async def previous_totals(
    conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int, before: datetime, depth: int
) -> dict[int, list[Decimal]]:
    """Totals of the last `depth` closed periods before this one, most recent first (for demotion)."""
    rows = await conn.execute_query_dict(
        """
        WITH recent AS (
            SELECT id, revision, starts_at FROM period
            WHERE tenant_id = $1 AND scheme_id = $2 AND starts_at < $3 AND revision > 0
            ORDER BY starts_at DESC LIMIT $4
        )
        SELECT s.staff_id, s.total FROM recent r
        JOIN scorecard s ON s.tenant_id = $1 AND s.period_id = r.id AND s.revision = r.revision
        ORDER BY r.starts_at DESC
        """,
        [tenant_id, scheme_id, before, depth],
    )
    totals: dict[int, list[Decimal]] = defaultdict(list)
    for row in rows:
        totals[row["staff_id"]].append(row["total"])
    return totals


async def scorecard_rows(
    conn: BaseDBAsyncClient, tenant_id: TenantId, period: Period, staff_code: str | None
) -> list[dict[str, Any]]:
    """The revision's scorecards with their staff and team, by rank; metrics and flags decoded."""
    binds = BindParams(tenant_id, period.id, period.revision)
    staff_filter = "" if staff_code is None else f"AND s.code = {binds.add(staff_code)}"
    rows = await conn.execute_query_dict(
        "SELECT c.staff_id, s.code AS staff_code, s.name AS staff_name, t.code AS team_code, c.revision, "
        "c.provisional, c.total, c.grade, c.rank, c.metrics, c.flags FROM scorecard c "
        "JOIN staff s ON s.tenant_id = c.tenant_id AND s.id = c.staff_id "
        "LEFT JOIN team t ON t.tenant_id = s.tenant_id AND t.id = s.team_id "
        f"WHERE c.tenant_id = $1 AND c.period_id = $2 AND c.revision = $3 {staff_filter} ORDER BY c.rank, s.code",
        binds.values,
    )
    return [{**row, "metrics": json_value(row["metrics"]), "flags": json_value(row["flags"])} for row in rows]


async def staff_code_of_user(conn: BaseDBAsyncClient, tenant_id: TenantId, user_id: int) -> str | None:
    rows = await conn.execute_query_dict(
        "SELECT code FROM staff WHERE tenant_id = $1 AND user_id = $2", [tenant_id, user_id]
    )
    return rows[0]["code"] if rows else None


# --- ledger lines --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewLine:
    staff_id: int
    rule_key: str
    kind: str
    amount: Decimal
    derivation: str


async def post_lines(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    period_id: int,
    revision: int,
    version_id: int,
    lines: list[NewLine],
    *,
    corrects: tuple[int, int] | None = None,
) -> None:
    """Posts `lines` into the statement of `period_id` at `revision`. `corrects` (period id, revision): they are
    prior-period adjustments of that period's revision (paid here because its own statement is approved)."""
    if not lines:
        return
    corrects_period_id, corrects_revision = corrects if corrects is not None else (None, None)
    await conn.execute_query(
        """
        INSERT INTO ledger_line (tenant_id, period_id, revision, staff_id, scheme_version_id, rule_key, kind, amount,
                                 derivation, posted_at, corrects_period_id, corrects_revision)
        SELECT $1, $2, $3, l.staff_id, $4, l.rule_key, l.kind, l.amount, l.derivation, now(), $10, $11
        FROM unnest($5::bigint[], $6::text[], $7::text[], $8::numeric[], $9::text[])
             AS l(staff_id, rule_key, kind, amount, derivation)
        """,
        [
            tenant_id,
            period_id,
            revision,
            version_id,
            [line.staff_id for line in lines],
            [line.rule_key for line in lines],
            [line.kind for line in lines],
            [line.amount for line in lines],
            [line.derivation for line in lines],
            corrects_period_id,
            corrects_revision,
        ],
    )


async def post_dispute_line(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    period_id: int,
    revision: int,
    version_id: int,
    line: NewLine,
    dispute_id: int,
    *,
    corrects: tuple[int, int] | None = None,
) -> int:
    """One dispute's adjustment line (re-closes never count it, see posted_sums); its id."""
    corrects_period_id, corrects_revision = corrects if corrects is not None else (None, None)
    rows = await conn.execute_query_dict(
        "INSERT INTO ledger_line (tenant_id, period_id, revision, staff_id, scheme_version_id, rule_key, kind, amount, "
        "derivation, posted_at, dispute_id, corrects_period_id, corrects_revision) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now(), $10, $11, $12) RETURNING id",
        [
            tenant_id,
            period_id,
            revision,
            line.staff_id,
            version_id,
            line.rule_key,
            line.kind,
            line.amount,
            line.derivation,
            dispute_id,
            corrects_period_id,
            corrects_revision,
        ],
    )
    return int(rows[0]["id"])


async def posted_sums(conn: BaseDBAsyncClient, tenant_id: TenantId, period_id: int) -> dict[tuple[int, str], Decimal]:
    """What the closes of the period have posted so far, per staff and rule: its own closes' lines, plus the
    prior-period adjustments that corrected it in later statements. Not counted: dispute adjustments (a manager's
    decision that no recomputation undoes) and the corrections of other periods this statement pays."""
    rows = await conn.execute_query_dict(
        "SELECT staff_id, rule_key, sum(amount) AS posted FROM ledger_line "
        "WHERE tenant_id = $1 AND dispute_id IS NULL "
        "AND ((period_id = $2 AND corrects_period_id IS NULL) OR corrects_period_id = $2) "
        "GROUP BY staff_id, rule_key",
        [tenant_id, period_id],
    )
    return {(r["staff_id"], r["rule_key"]): r["posted"] for r in rows}


async def line_rows(
    conn: BaseDBAsyncClient, tenant_id: TenantId, period_id: int, staff_code: str | None
) -> list[dict[str, Any]]:
    """Every posted line of the period's statement (all revisions), with its staff code and staff id, by staff and
    revision. Also each line's id, and what it corrects or resolves: `corrects_period_key` and `corrects_revision` (a
    prior-period adjustment), `dispute_id` (a dispute's adjustment); None for the period's own lines."""
    binds = BindParams(tenant_id, period_id)
    staff_filter = "" if staff_code is None else f"AND s.code = {binds.add(staff_code)}"
    return list(
        await conn.execute_query_dict(
            "SELECT s.code AS staff_code, l.revision, l.rule_key, l.kind, l.amount, l.derivation, "
            "l.scheme_version_id, l.posted_at, l.staff_id, l.id, l.corrects_period_id, cp.key AS corrects_period_key, "
            "l.corrects_revision, l.dispute_id "
            "FROM ledger_line l JOIN staff s ON s.tenant_id = l.tenant_id AND s.id = l.staff_id "
            "LEFT JOIN period cp ON cp.tenant_id = l.tenant_id AND cp.id = l.corrects_period_id "
            f"WHERE l.tenant_id = $1 AND l.period_id = $2 {staff_filter} "
            "ORDER BY s.code, l.revision, l.id",
            binds.values,
        )
    )


# --- scheduling reads ----------------------------------------------------------------------------------------------


async def tenant_settings(conn: BaseDBAsyncClient) -> list[tuple[int, Any]]:
    """Every tenant's id and raw settings (a platform unit of work's read; decoded per tenant by the caller, so that
    one tenant's unusable settings cost only that tenant)."""
    rows = await Tenant.all().using_db(conn).values("id", "settings")
    return [(row["id"], row["settings"]) for row in rows]


@dataclass(frozen=True)
class TenantSchedule:
    schemes: list[Scheme]
    published: list[SchemeVersion]
    periods: list[Period]


async def tenant_schedule(conn: BaseDBAsyncClient, tenant_id: TenantId) -> TenantSchedule:
    """What the cron decides a tenant's work from: active schemes, published versions, every period."""
    return TenantSchedule(
        list(await Scheme.filter(tenant_id=tenant_id, active=True).using_db(conn)),
        list(await SchemeVersion.filter(tenant_id=tenant_id, status="published").using_db(conn)),
        list(await Period.filter(tenant_id=tenant_id).using_db(conn)),
    )


# --- statement approval (approvals.py) -----------------------------------------------------------------------------


async def scheme_exists(conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int) -> bool:
    return await Scheme.filter(tenant_id=tenant_id, id=scheme_id).using_db(conn).exists()


async def mark_approved(
    conn: BaseDBAsyncClient, tenant_id: TenantId, period_id: int, revision: int, user_id: int | None
) -> None:
    await conn.execute_query(
        "UPDATE period SET approved_at = now(), approved_by_user_id = $3, approved_revision = $4 "
        "WHERE tenant_id = $1 AND id = $2",
        [tenant_id, period_id, user_id, revision],
    )


async def mark_reopened(
    conn: BaseDBAsyncClient, tenant_id: TenantId, period_id: int, user_id: int | None, reason: str
) -> None:
    await conn.execute_query(
        "UPDATE period SET approved_at = NULL, approved_by_user_id = NULL, approved_revision = NULL, "
        "reopened_at = now(), reopened_by_user_id = $3, reopen_reason = $4 WHERE tenant_id = $1 AND id = $2",
        [tenant_id, period_id, user_id, reason],
    )


async def period_by_id_for_update(conn: BaseDBAsyncClient, tenant_id: TenantId, period_id: int) -> Period | None:
    return await Period.filter(tenant_id=tenant_id, id=period_id).select_for_update().using_db(conn).first()
