"""The DESIGN.md worked example, end to end: events -> close -> scorecards and ledger, to the cent."""

from __future__ import annotations

from decimal import Decimal

from tenants.db.uow import tenant_unit_of_work
from tenants.demo import PERIOD, seed_worked_example
from tenants.periods.close import close_period
from tenants.periods.models import LedgerLine, Period, Scorecard
from tenants.staff.models import Staff
from tenants.tenancy.identity import TenantId
from tests.conftest import TenantFactory

EXPECTED = {
    # code: (total, grade, {rule: amount}, net)
    "guide-001": (
        "120.0000",
        "S",
        {"commission": "1000.00", "new_customer_bonus": "300.00", "missed_follow_up": "-100.00", "complaint": "0.00"},
        "1200.00",
    ),
    "guide-002": (
        "40.0000",
        "D",
        {"commission": "0.00", "new_customer_bonus": "0.00", "missed_follow_up": "-200.00", "complaint": "-200.00"},
        "-400.00",
    ),
    "guide-003": (
        "55.0000",
        "D",
        {"commission": "0.00", "new_customer_bonus": "300.00", "missed_follow_up": "0.00", "complaint": "0.00"},
        "300.00",
    ),
}


async def ledger(tenant_id: TenantId) -> dict[str, dict[str, Decimal]]:
    async with tenant_unit_of_work(tenant_id):
        codes = {s.id: s.code for s in await Staff.filter(tenant_id=tenant_id)}
        lines = await LedgerLine.filter(tenant_id=tenant_id).order_by("id")
    result: dict[str, dict[str, Decimal]] = {}
    for line in lines:
        result.setdefault(codes[line.staff_id], {})[line.rule_key] = line.amount
    return result


async def test_worked_example_gives_the_design_table(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    scheme_id = await seed_worked_example(tenant.tenant_id)
    outcome = await close_period(tenant.tenant_id, scheme_id, PERIOD)
    assert (outcome.revision, outcome.scorecards, outcome.changed) == (1, 3, True)
    async with tenant_unit_of_work(tenant.tenant_id):
        codes = {s.id: s.code for s in await Staff.filter(tenant_id=tenant.tenant_id)}
        cards = {codes[c.staff_id]: c for c in await Scorecard.filter(tenant_id=tenant.tenant_id)}
        lines = await LedgerLine.filter(tenant_id=tenant.tenant_id)
        period = await Period.get(tenant_id=tenant.tenant_id, scheme_id=scheme_id, key=PERIOD)
    assert (period.state, period.revision) == ("closed", 1)
    posted = await ledger(tenant.tenant_id)
    for code, (total, grade, rules, net) in EXPECTED.items():
        assert (str(cards[code].total), cards[code].grade) == (total, grade), code
        assert posted[code] == {rule: Decimal(amount) for rule, amount in rules.items()}, code
        assert sum(posted[code].values()) == Decimal(net), code
    wang = next(line for line in lines if codes[line.staff_id] == "guide-001" and line.rule_key == "commission")
    assert wang.derivation == "提成 10,000.00 x 3% + 14,000.00 x 5% = 1,000.00"
    zhang_scores = {m["key"]: m["score"] for m in cards["guide-003"].metrics if m["score"] is not None}
    assert zhang_scores == {"new_customers": "100.0000", "conversion": "0.0000", "sales": "50.0000"}


async def test_close_is_idempotent_and_other_tenants_untouched(make_tenant: TenantFactory) -> None:
    a, b = await make_tenant(), await make_tenant()
    scheme_a = await seed_worked_example(a.tenant_id)
    scheme_b = await seed_worked_example(b.tenant_id)
    await close_period(a.tenant_id, scheme_a, PERIOD)
    again = await close_period(a.tenant_id, scheme_a, PERIOD)
    assert (again.lines_posted, again.changed) == (0, False)
    assert sum(len(rules) for rules in (await ledger(a.tenant_id)).values()) == 12
    # Closing A wrote nothing for B, whose period is not even created.
    assert await ledger(b.tenant_id) == {}
    async with tenant_unit_of_work(b.tenant_id):
        assert await Period.filter(tenant_id=b.tenant_id, scheme_id=scheme_b).count() == 0
