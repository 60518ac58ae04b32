"""Bulk upserts of teams, staff and customers through GraphQL: create, update, per-item errors, batch limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise.backends.asyncpg.client import TransactionWrapper

from tenants.staff.checks import MAX_BATCH
from tenants.staff.service import AUDIT_DETAIL_LIMIT
from tests.conftest import GraphQL, TenantFactory
from tests.staff import (
    CUSTOMERS,
    STAFF,
    TEAMS,
    audit_entries,
    codes,
    errors_of,
    query,
    snapshot,
    upsert,
)

Login = Callable[..., Awaitable[str]]


async def test_create_then_update_is_idempotent(make_tenant: TenantFactory, gql: GraphQL, login: Login) -> None:
    tenant = await make_tenant()
    token = await login(tenant.admin_email)
    teams = [{"code": "r1", "name": "East", "kind": "region"}, {"code": "s1", "name": "Store 1", "parent": "r1"}]
    staff = [
        {"code": "g1", "name": "小王", "role": "guide", "team": "s1", "hiredOn": "2025-01-02"},
        {"code": "cs1", "name": "小李", "role": "customer_service", "active": False},
    ]
    customers = [{"code": "c1", "name": "Ms Zhao", "guide": "g1"}, {"code": "c2"}]

    first = [
        await upsert(gql, "teams", teams, token),
        await upsert(gql, "staff", staff, token),
        await upsert(gql, "customers", customers, token),
    ]
    assert first == [
        {"created": 2, "updated": 0, "codes": ["r1", "s1"], "errors": []},
        {"created": 2, "updated": 0, "codes": ["g1", "cs1"], "errors": []},
        {"created": 2, "updated": 0, "codes": ["c1", "c2"], "errors": []},
    ]
    stored = await snapshot(tenant.tenant_id)

    # The same batches again: every item matches its stored row, nothing new, nothing else moves.
    again = [
        await upsert(gql, "teams", teams, token),
        await upsert(gql, "staff", staff, token),
        await upsert(gql, "customers", customers, token),
    ]
    assert [(r["created"], r["updated"], r["errors"]) for r in again] == [(0, 2, []), (0, 2, []), (0, 2, [])]
    rerun = await snapshot(tenant.tenant_id)

    def without_updated_at(rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
        return {kind: [{k: v for k, v in row.items() if k != "updated_at"} for row in r] for kind, r in rows.items()}

    # Same ids, same values, and the binding time did not move (re-sending a binding must not restart it).
    assert without_updated_at(rerun) == without_updated_at(stored)
    assert stored["customers"][0]["bound_since"] is not None

    # An update changes what it carries, and omitted optional fields take their defaults.
    changed = await upsert(gql, "staff", [{"code": "g1", "name": "王小明", "role": "sales"}], token)
    assert (changed["created"], changed["updated"]) == (0, 1)
    page = await query(gql, STAFF, token)
    assert page["items"][1] == {
        "id": str(stored["staff"][1]["id"]),
        "code": "g1",
        "name": "王小明",
        "role": "sales",
        "teamCode": None,
        "active": True,
        "hiredOn": None,
        "leftOn": None,
    }
    assert codes(page) == ["cs1", "g1"]
    assert (await query(gql, TEAMS, token))["items"][1]["parentCode"] == "r1"
    assert (await query(gql, CUSTOMERS, token))["items"][0]["guideCode"] == "g1"

    # One audit entry per batch, with the counts and the codes (and, for a batch this small, the rows' images:
    # tests/staff/test_audit_images.py).
    entries = await audit_entries(tenant.tenant_id, "staff")
    assert [(e.action, e.actor_user_id) for e in entries] == [("upsert", tenant.admin_user_id)] * 3
    assert {key: value for key, value in entries[0].after.items() if key != "rows"} == {
        "created": 2,
        "updated": 0,
        "rejected": 0,
        "created_codes": ["cs1", "g1"],
        "updated_codes": [],
    }
    assert entries[2].after["updated_codes"] == ["g1"]
    assert len(await audit_entries(tenant.tenant_id, "team")) == 2
    assert len(await audit_entries(tenant.tenant_id, "customer")) == 2


async def test_per_item_errors_keep_the_valid_items(make_tenant: TenantFactory, gql: GraphQL, login: Login) -> None:
    tenant = await make_tenant()
    token = await login(tenant.admin_email)
    await upsert(gql, "teams", [{"code": "s1", "name": "Store 1"}], token)
    staff = [
        {"code": "ok1", "name": "Valid", "role": "guide", "team": "s1"},  # 0
        {"code": "bad-role", "name": "X", "role": "Guide"},  # 1
        {"code": "dates", "name": "X", "role": "sales", "hiredOn": "2025-05-01", "leftOn": "2025-04-30"},  # 2
        {"code": "fmt", "name": "X", "role": "sales", "hiredOn": "01/05/2025"},  # 3
        {"code": "dup", "name": "X", "role": "agent"},  # 4
        {"code": " padded", "name": "X", "role": "agent"},  # 5
        {"code": "nowhere", "name": "X", "role": "agent", "team": "no-such-team"},  # 6
        {"code": "dup", "name": "Y", "role": "agent"},  # 7
        {"code": "noname", "name": "  ", "role": "agent"},  # 8
        {"code": "ok2", "name": "Live host", "role": "live_host", "leftOn": "2026-01-31"},  # 9: a custom role
    ]
    result = await upsert(gql, "staff", staff, token)
    assert errors_of(result) == [
        (1, "INVALID_ROLE", "role"),
        (2, "INVALID_DATES", "leftOn"),
        (3, "INVALID_DATE_FORMAT", "hiredOn"),
        (4, "DUPLICATE_IN_BATCH", "code"),
        (5, "INVALID_CODE", "code"),
        (6, "UNKNOWN_TEAM", "team"),
        (7, "DUPLICATE_IN_BATCH", "code"),
        (8, "INVALID_NAME", "name"),
    ]
    assert all(e["message"] for e in result["errors"])
    assert (result["created"], result["updated"], result["codes"]) == (2, 0, ["ok1", "ok2"])
    page = await query(gql, STAFF, token)
    assert [(s["code"], s["role"], s["teamCode"], s["leftOn"]) for s in page["items"]] == [
        ("ok1", "guide", "s1", None),
        ("ok2", "live_host", None, "2026-01-31"),
    ]
    assert (await audit_entries(tenant.tenant_id, "staff"))[0].after["rejected"] == 8
    # A batch in which every item is refused changes nothing, so it leaves no audit entry either.
    before = await snapshot(tenant.tenant_id)
    refused = await upsert(gql, "staff", [{"code": "ok1", "name": "Renamed", "role": "BAD"}], token)
    assert errors_of(refused) == [(0, "INVALID_ROLE", "role")]
    assert await snapshot(tenant.tenant_id) == before
    assert len(await audit_entries(tenant.tenant_id, "staff")) == 1


async def test_customer_binding_and_its_errors(make_tenant: TenantFactory, gql: GraphQL, login: Login) -> None:
    tenant = await make_tenant()
    token = await login(tenant.admin_email)
    await upsert(
        gql,
        "staff",
        [{"code": "g1", "name": "A", "role": "guide"}, {"code": "g2", "name": "B", "role": "guide"}],
        token,
    )
    before = datetime.now(UTC)
    result = await upsert(
        gql,
        "customers",
        [
            {"code": "c1", "guide": "g1"},  # bound now
            {"code": "c2", "guide": "g1", "boundSince": "2026-03-01T09:00:00+08:00"},  # bound since a given time
            {"code": "c3", "guide": "ghost"},
            {"code": "c4", "guide": "g1", "boundSince": "2026-03-01T09:00:00"},
            {"code": "c5", "boundSince": "2026-03-01T09:00:00Z"},
            {"code": "c6", "guide": "g1", "boundSince": "yesterday"},
            {"code": "c7", "name": "x" * 201},
        ],
        token,
    )
    assert errors_of(result) == [
        (2, "UNKNOWN_STAFF", "guide"),
        (3, "NAIVE_DATETIME", "boundSince"),
        (4, "BOUND_WITHOUT_GUIDE", "boundSince"),
        (5, "INVALID_DATE_FORMAT", "boundSince"),
        (6, "INVALID_NAME", "name"),
    ]
    assert result["codes"] == ["c1", "c2"]
    items = {c["code"]: c for c in (await query(gql, CUSTOMERS, token))["items"]}
    assert set(items) == {"c1", "c2"}
    c1_since = datetime.fromisoformat(items["c1"]["boundSince"])
    assert before - timedelta(seconds=5) <= c1_since <= datetime.now(UTC) + timedelta(seconds=5)
    assert datetime.fromisoformat(items["c2"]["boundSince"]) == datetime(2026, 3, 1, 1, 0, tzinfo=UTC)

    # Same guide: the binding keeps its time. Another guide: a new binding from now. No guide: no binding.
    await upsert(gql, "customers", [{"code": "c1", "guide": "g1"}, {"code": "c2", "guide": "g2"}], token)
    items = {c["code"]: c for c in (await query(gql, CUSTOMERS, token))["items"]}
    assert datetime.fromisoformat(items["c1"]["boundSince"]) == c1_since
    assert items["c2"]["guideCode"] == "g2"
    assert datetime.fromisoformat(items["c2"]["boundSince"]) > datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    assert datetime.fromisoformat(items["c2"]["boundSince"]) >= before - timedelta(seconds=5)
    await upsert(gql, "customers", [{"code": "c1"}], token)
    items = {c["code"]: c for c in (await query(gql, CUSTOMERS, token))["items"]}
    assert (items["c1"]["guideCode"], items["c1"]["boundSince"]) == (None, None)
    assert codes(await query(gql, CUSTOMERS, token, guide="g2")) == ["c2"]


async def test_more_than_a_thousand_items_are_refused_whole(
    make_tenant: TenantFactory, gql: GraphQL, login: Login
) -> None:
    tenant = await make_tenant()
    token = await login(tenant.admin_email)
    for what, item in (
        ("teams", {"name": "T"}),
        ("staff", {"name": "S", "role": "guide"}),
        ("customers", {"name": "C"}),
    ):
        items = [{"code": f"{what}-{i}", **item} for i in range(MAX_BATCH + 1)]
        result = await upsert(gql, what, items, token)
        assert (result["created"], result["updated"], result["codes"]) == (0, 0, [])
        assert errors_of(result) == [(MAX_BATCH, "TOO_MANY_ITEMS", None)]
    assert await snapshot(tenant.tenant_id) == {"teams": [], "staff": [], "customers": []}
    for entity in ("team", "staff", "customer"):
        assert await audit_entries(tenant.tenant_id, entity) == []


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement sent on a transaction connection (all app queries run in units of work)."""
    sent: list[str] = []
    for name in ("execute_query", "execute_query_dict", "execute_insert", "execute_many"):
        original = getattr(TransactionWrapper, name)

        def counting(self: Any, query: str, *args: Any, _original: Any = original) -> Any:
            sent.append(query)
            return _original(self, query, *args)

        monkeypatch.setattr(TransactionWrapper, name, counting)
    return sent


async def test_a_full_batch_costs_as_many_statements_as_a_tiny_one(
    make_tenant: TenantFactory, gql: GraphQL, login: Login, statements: list[str]
) -> None:
    tenant = await make_tenant()
    token = await login(tenant.admin_email)
    await upsert(gql, "teams", [{"code": "root", "name": "Root"}], token)

    def batch(what: str, size: int) -> list[dict[str, Any]]:
        if what == "teams":  # a chain: each team under the previous one, parents listed after their children
            return [
                {"code": f"t{i}", "name": f"T{i}", "parent": f"t{i + 1}" if i + 1 < size else "root"}
                for i in range(size)
            ]
        if what == "staff":
            return [{"code": f"s{i}", "name": f"S{i}", "role": "guide", "team": f"t{i % 2}"} for i in range(size)]
        return [{"code": f"c{i}", "guide": f"s{i % 2}"} for i in range(size)]

    # Up to AUDIT_DETAIL_LIMIT items the audit entry has before/after images: one statement each, whatever the size.
    counts: dict[str, list[int]] = {}
    for what in ("teams", "staff", "customers"):
        counts[what] = []
        for size in (2, AUDIT_DETAIL_LIMIT, AUDIT_DETAIL_LIMIT + 1, MAX_BATCH):
            statements.clear()
            result = await upsert(gql, what, batch(what, size), token)
            assert result["errors"] == [] and result["created"] + result["updated"] == size
            counts[what].append(len(statements))
    for what, (tiny, detailed, above, full) in counts.items():
        assert tiny == detailed == full + 2 <= 12, (what, counts)
        assert above == full, (what, counts)
    # The subtree filter follows the 1,000-deep chain: t0 is under t1, which is under ... t999 under root.
    assert (await query(gql, STAFF, token, team="t0", limit=1))["total"] == MAX_BATCH // 2
    assert (await query(gql, STAFF, token, team="t1", limit=1))["total"] == MAX_BATCH
    assert (await query(gql, STAFF, token, team="root", limit=1))["total"] == MAX_BATCH
