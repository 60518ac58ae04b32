"""The results lists' own filters (admin/views/periods.py RowFilter): by period and by team, each offering and
keeping only the signed-in tenant's rows; another tenant's period id keeps nothing."""

from __future__ import annotations

from tenants.db.uow import tenant_unit_of_work
from tenants.demo import seed_demo_teams, seed_worked_example
from tenants.periods.close import close_period
from tenants.periods.models import Period
from tenants.staff.models import Team
from tests.admin.conftest import ConsoleFactory, signed_in
from tests.conftest import TenantFactory


async def test_scorecards_filtered_by_period_and_team_are_the_tenants_own(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant, other = await make_tenant(), await make_tenant()
    for each in (tenant, other):
        scheme_id = await seed_worked_example(each.tenant_id)
        await close_period(each.tenant_id, scheme_id, "2026-10")
    await seed_demo_teams(tenant.tenant_id)
    async with tenant_unit_of_work(tenant.tenant_id):
        period = await Period.get(tenant_id=tenant.tenant_id, key="2026-10")
        store = await Team.get(tenant_id=tenant.tenant_id, code="sh-02")
    console = await signed_in(console_factory, tenant)

    of_period = await console.get(f"/admin/scorecard-row/list?period={period.id}")
    assert "(guide-001)" in of_period.text and "(guide-003)" in of_period.text
    of_store = await console.get(f"/admin/scorecard-row/list?team={store.id}")
    assert "(guide-003)" in of_store.text and "(guide-001)" not in of_store.text
    assert "上海二店" in of_store.text  # the team offered by the filter

    stranger = await signed_in(console_factory, other)
    everything = await stranger.get("/admin/scorecard-row/list")
    assert "(guide-001)" in everything.text and "上海二店" not in everything.text  # no team of the tenant offered
    foreign = await stranger.get(f"/admin/scorecard-row/list?period={period.id}")
    assert "(guide-001)" not in foreign.text
    foreign_team = await stranger.get(f"/admin/ledger-line-row/list?team={store.id}")
    assert "(guide-001)" not in foreign_team.text and "(guide-003)" not in foreign_team.text
