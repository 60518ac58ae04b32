"""What the database itself guarantees about money: posted lines and closed scorecards never change."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from server.settings import Settings
from tenants.db.uow import tenant_unit_of_work
from tenants.demo import PERIOD, seed_worked_example
from tenants.periods.close import close_period
from tenants.periods.models import LedgerLine, Period
from tests.conftest import GraphQL, TenantFactory

SIMULATE = """
query($scheme: ID!, $period: String!, $config: JSON) {
  simulateScheme(schemeId: $scheme, period: $period, config: $config) {
    __typename
    ... on Simulation { period scorecards { staffCode total grade net lines { ruleKey amount } } }
    ... on ConfigErrors { configErrors: errors { field code } }
    ... on PeriodErrors { errors { field code } }
  }
}
"""


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_line SET amount = amount + 1",
        "DELETE FROM ledger_line",
        "UPDATE scorecard SET total = 100 WHERE revision > 0",
        "DELETE FROM scorecard WHERE revision > 0",
    ],
)
async def test_posted_lines_and_closed_scorecards_cannot_change(
    make_tenant: TenantFactory, app_conn: asyncpg.Connection, statement: str
) -> None:
    tenant = await make_tenant()
    scheme_id = await seed_worked_example(tenant.tenant_id)
    await close_period(tenant.tenant_id, scheme_id, PERIOD)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match=r"cannot change|append-only"):
        async with app_conn.transaction():
            await app_conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant.tenant_id))
            await app_conn.execute(statement)
    async with tenant_unit_of_work(tenant.tenant_id):
        amounts = sorted(line.amount for line in await LedgerLine.filter(tenant_id=tenant.tenant_id))
    # Unchanged: the 12 lines of the worked example, net 1,200 - 400 + 300.
    assert (len(amounts), sum(amounts)) == (12, Decimal("1100.00"))


async def test_simulate_scheme_through_graphql(make_tenant: TenantFactory, gql: GraphQL, login: Any) -> None:
    tenant = await make_tenant()
    scheme_id = await seed_worked_example(tenant.tenant_id)
    token = await login(tenant.admin_email)
    body = await gql(SIMULATE, {"scheme": str(scheme_id), "period": PERIOD}, token)
    simulation = body["data"]["simulateScheme"]
    assert simulation["__typename"] == "Simulation"
    assert [(c["staffCode"], c["total"], c["grade"], c["net"]) for c in simulation["scorecards"]] == [
        ("guide-001", "120.00", "S", "1200.00"),
        ("guide-002", "40.00", "D", "-400.00"),
        ("guide-003", "55.00", "D", "300.00"),
    ]
    invalid = {
        "cycle": "month",
        "metrics": [{"key": "a", "aggregate": "count", "events": ["x"], "target": 1, "weight": 90}],
    }
    rejected = await gql(SIMULATE, {"scheme": str(scheme_id), "period": PERIOD, "config": invalid}, token)
    assert rejected["data"]["simulateScheme"] == {
        "__typename": "ConfigErrors",
        "configErrors": [{"field": "metrics", "code": "WEIGHTS_NOT_100"}],
    }
    other = await make_tenant()
    other_token = await login(other.admin_email)
    hidden = await gql(SIMULATE, {"scheme": str(scheme_id), "period": PERIOD}, other_token)
    assert hidden["data"]["simulateScheme"]["errors"] == [{"field": "schemeId", "code": "SCHEME_NOT_FOUND"}]
    async with tenant_unit_of_work(tenant.tenant_id):
        assert await Period.filter(tenant_id=tenant.tenant_id).count() == 0  # a simulation stores nothing


def test_cli_close_with_progress(database: Settings, make_tenant_sync: Any) -> None:
    slug, scheme_id = make_tenant_sync
    env = {
        **os.environ,
        "KAOHE_DATABASE_URL": database.database_url,
        "KAOHE_REDIS_URL": database.redis_url,
        "KAOHE_OWNER_DATABASE_URL": database.owner_database_url,
    }
    command = [
        sys.executable,
        "-m",
        "server.cli",
        "close",
        "--tenant",
        slug,
        "--scheme",
        str(scheme_id),
        "--period",
        PERIOD,
    ]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert first.returncode == 0, first.stderr
    assert "2026-10: revision 1, 3 scorecards, 12 lines" in first.stdout
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert "nothing changed" in again.stdout
    unknown = subprocess.run(
        [*command[:5], "nope", *command[6:]], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert unknown.returncode != 0


@pytest.fixture
async def make_tenant_sync(make_tenant: TenantFactory) -> tuple[str, int]:
    tenant = await make_tenant()
    return tenant.slug, await seed_worked_example(tenant.tenant_id)
