"""The one bind-parameter builder: placeholders are numbered in order, values never reach the SQL text, optional
filters that were not given add nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from tenants.db.params import BindParams
from tenants.db.uow import tenant_unit_of_work
from tests.conftest import TenantFactory

HOSTILE = "x'; DROP TABLE staff; --"


def test_placeholders_follow_the_initial_values() -> None:
    params = BindParams(7, "period")
    assert params.add("a") == "$3"
    assert params.add(None) == "$4"
    assert params.values == [7, "period", "a", None]


def test_a_fresh_builder_starts_at_one() -> None:
    params = BindParams()
    assert params.add(1) == "$1"
    assert params.values == [1]


def test_values_are_never_interpolated_into_the_sql() -> None:
    params = BindParams(42)
    params.where("s.tenant_id = $1")
    params.where(f"s.code = {params.add(HOSTILE)}")
    params.where_value("s.name = {}", HOSTILE)
    limit = params.add(10)
    sql = f"SELECT 1 FROM staff s WHERE {params.sql} LIMIT {limit}"
    assert HOSTILE not in sql
    assert "DROP" not in sql
    assert sql == "SELECT 1 FROM staff s WHERE s.tenant_id = $1 AND s.code = $2 AND s.name = $3 LIMIT $4"
    assert params.values == [42, HOSTILE, HOSTILE, 10]


def test_a_value_holding_braces_is_not_formatted_into_the_clause() -> None:
    params = BindParams()
    params.where_value("e.type = {}", "{}{0}")
    assert params.sql == "e.type = $1"
    assert params.values == ["{}{0}"]


def test_where_value_skips_none_but_keeps_falsy_values() -> None:
    params = BindParams("tenant")
    params.where_value("e.type = {}", None)
    params.where_value("s.active = {}", False)
    params.where_value("e.amount = {}", 0)
    params.where_value("s.code = {}", "")
    assert params.sql == "s.active = $2 AND e.amount = $3 AND s.code = $4"
    assert params.values == ["tenant", False, 0, ""]


def test_no_condition_is_true() -> None:
    assert BindParams().sql == "TRUE"


def test_placeholders_and_values_stay_in_step_across_where_and_add() -> None:
    params = BindParams("t")
    since = datetime(2026, 1, 1, tzinfo=UTC)
    params.where_value("e.occurred_at >= {}", since)
    offset_before_conditions = params.add(5)
    params.where_value("e.occurred_at < {}", since)
    assert offset_before_conditions == "$3"
    assert params.sql == "e.occurred_at >= $2 AND e.occurred_at < $4"
    assert params.values == ["t", since, 5, since]


async def test_the_database_receives_values_as_parameters(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    params = BindParams()
    text = params.add(HOSTILE)
    number = params.add(3)
    async with tenant_unit_of_work(tenant.tenant_id) as conn:
        rows = await conn.execute_query_dict(f"SELECT {text}::text AS text, {number}::int + 1 AS n", params.values)
    assert rows == [{"text": HOSTILE, "n": 4}]
