"""A config at every bound of tenants/rules/config/bounds.py simulates and closes on the real database: the bounds keep
every config that validates within what the close's SQL (columns, bind parameters) and the ledger columns take."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from tenants.events.service import ingest
from tenants.periods.close import close_period
from tenants.periods.simulate import simulate
from tenants.rules.config import parse_scheme_config
from tenants.schemes import service
from tenants.tenancy.identity import TenantId
from tests.conftest import TenantFactory
from tests.factories import add_staff, add_team
from tests.schemes.test_config import maximal_config
from tests.schemes.test_service import actor

PERIOD = "2025-06"


async def _participant(tenant_id: TenantId, config: dict[str, Any]) -> None:
    team = await add_team(tenant_id, config["participants"]["teams"][0])
    await add_staff(tenant_id, "guide-1", role=config["participants"]["roles"][0], team_id=team.id)
    attributes = {name: options[0] for name, options in config["metrics"][0]["filter"].items()}
    result = await ingest(
        tenant_id,
        [
            (
                index,
                {
                    "externalId": f"order-{index}",
                    "type": "event_00",
                    "occurredAt": f"2025-06-1{index}T10:00:00-03:00",
                    "staff": "guide-1",
                    "amount": "9999999999999.99",  # the largest an event holds; two reach sales' cap of 10
                    "value": "1.5",
                    "attributes": attributes,
                },
            )
            for index in range(2)
        ],
    )
    assert result.accepted == 2, result.rejected


async def test_a_config_at_every_bound_simulates_and_closes(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    config = maximal_config()
    await _participant(tenant.tenant_id, config)
    scheme = await service.create_scheme(tenant.tenant_id, actor(tenant), "边界方案")

    _, simulated = await simulate(tenant.tenant_id, scheme.id, PERIOD, config=parse_scheme_config(config))

    card = simulated.scorecards[0]
    # both scored metrics at their highest: sales at the cap of 10 (1000 points), visits in the 1000-point band
    assert card.total == Decimal("1000.0000")
    amounts = {line.rule_key: line.amount for line in card.lines}
    assert amounts["commission"] == Decimal("19999999999999.98")  # every tier at rate 1: the whole base
    assert amounts["score"] == Decimal("100000000.00")
    assert sum(-amount for amount in amounts.values() if amount < 0) == Decimal("10000000.00")  # the penalty cap

    draft = await service.save_draft(tenant.tenant_id, actor(tenant), scheme.id, config)
    await service.publish_version(tenant.tenant_id, actor(tenant), draft.id, date(2025, 1, 1))
    closed = await close_period(tenant.tenant_id, scheme.id, PERIOD)
    assert (closed.scorecards, closed.revision) == (1, 1)
    assert closed.lines_posted == len(card.lines)
