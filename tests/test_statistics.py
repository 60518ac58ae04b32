"""Planner statistics after bulk writes: the app role can refresh them (through kaohe_analyze) and only those."""

from __future__ import annotations

import asyncpg
import pytest
from tortoise.connection import get_connection

from tenants.statistics import needs_analyze, refresh_statistics


def test_needs_analyze_when_never_analysed_or_grown_by_a_fifth() -> None:
    assert needs_analyze(-1, 100)
    assert not needs_analyze(-1, 99)
    assert needs_analyze(1_000, 201)
    assert not needs_analyze(1_000, 200)


async def test_the_app_role_refreshes_statistics_of_the_bulk_tables(app: object) -> None:
    assert await refresh_statistics("staff", 1_000_000)
    rows = await get_connection("default").execute_query_dict(
        "SELECT reltuples >= 0 AS analysed FROM pg_class WHERE oid = 'public.staff'::regclass"
    )
    assert rows == [{"analysed": True}]


async def test_kaohe_analyze_refuses_other_tables(app: object) -> None:
    with pytest.raises(asyncpg.RaiseError, match="not analysed by the app"):
        await get_connection("default").execute_query("SELECT kaohe_analyze('user')")
