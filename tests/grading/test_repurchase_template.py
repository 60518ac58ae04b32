"""The fourth template, 复购与服务 (issue 10 item 6): it validates, and a month closes with every input it reads
coming from issue 10's own parts: last month's stored grades, WeCom new contacts (the import), missed follow-ups
(the detection job) and a complaint caused by one."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx

from tenants.audit.service import SYSTEM
from tenants.followups.service import GRACE, detect_missed
from tenants.grading import service as grading
from tenants.periods.close import close_period
from tenants.rules.config import parse_scheme_config, validate_scheme_config
from tenants.schemes import service as schemes
from tenants.schemes.templates import get_template
from tenants.tenancy import service as tenancy
from tenants.tenancy.auth import Scope
from tests.conftest import TenantFactory
from tests.factories import add_customer, add_staff
from tests.grading.support import order, send
from tests.periods.test_close import lines_of

SEPTEMBER = "2026-09-10T12:00:00+08:00"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_the_template_validates_with_the_metrics_asked_for() -> None:
    template = get_template("repurchase_service")
    assert template.name == "复购与服务"
    assert validate_scheme_config(template.config) == []
    config = parse_scheme_config(template.config)
    assert config.metric("ab_repurchase_rate").aggregate == "ratio"
    assert config.metric("ab_buyers").filter == {"customer_grade": ["A", "B"]}
    assert config.metric("reactivated_d").filter == {"customer_grade": ["D"]}
    assert config.metric("wecom_new_contacts").events == ["wecom_new_contacts"]
    penalties = {p.key: (p.events, p.filter, p.amount) for p in config.penalties}  # type: ignore[union-attr]
    assert penalties == {
        "missed_follow_up": (["follow_up_missed"], {}, Decimal(100)),
        "follow_up_complaint": (["complaint"], {"caused_by_follow_up": True}, Decimal(200)),
    }


async def test_a_month_closes_with_grades_wecom_figures_and_missed_follow_ups(
    make_tenant: TenantFactory, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "g1")
    for code in ("a1", "b1", "c1", "d1", "d2"):
        await add_customer(tid, code)
    # September: a1 A, b1 B, c1 C; d1 and d2 D.
    await send(
        tid,
        [
            order("s-a1", "a1", "500.00", SEPTEMBER),
            order("s-b1", "b1", "300.00", SEPTEMBER),
            order("s-c1", "c1", "100.00", SEPTEMBER),
        ],
    )
    await grading.grade_month(tid, SYSTEM, "2026-09")
    await grading.save_service_rules(
        tid, SYSTEM, {"follow_up": [{"after": "order", "needs": "follow_up_done", "within_hours": 24}]}
    )
    october = datetime(2026, 10, 10, 4, tzinfo=UTC)
    at = october.isoformat()
    await send(
        tid,
        [
            order("o-a1", "a1", "200.00", at, attributes={"repeat_purchase": True}),
            order("o-b1", "b1", "100.00", at),
            order("o-d1", "d1", "50.00", at),  # reactivated D customers
            order("o-d2", "d2", "50.00", at),
        ]
        + [
            {"externalId": f"f-{code}", "type": "follow_up_done", "occurredAt": at, "staff": "g1", "customer": code}
            for code in ("a1", "b1")
        ],
    )
    # September's three orders had no follow-up either (dated in September: not October's penalties)
    assert (await detect_missed(tid, october + timedelta(hours=24) + GRACE + timedelta(seconds=1))).emitted == 5
    await send(
        tid,
        [
            {
                "externalId": "complaint-d1",
                "type": "complaint",
                "occurredAt": "2026-10-20T12:00:00+08:00",
                "staff": "g1",
                "customer": "d1",
                "attributes": {"caused_by_follow_up": True, "missed_follow_up": "fum:follow_up_done:o-d1"},
            }
        ],
    )
    key = (await tenancy.create_api_key(tid, "wecom", [Scope.EVENTS_WRITE], None)).plaintext
    wecom = {
        "mapping": {"zhangsan": "g1"},
        "behavior_data": [
            {
                "userid": "zhangsan",
                "stat_time": int(datetime(2026, 10, 10 + i, tzinfo=SHANGHAI).timestamp()),
                "new_contact_cnt": 30,
            }
            for i in range(4)
        ],
    }
    answer = await client.post(
        "/import/wecom/behavior", content=json.dumps(wecom), headers={"authorization": f"Bearer {key}"}
    )
    assert answer.json()["stored"] == 4

    created = await schemes.create_from_template(tid, SYSTEM, "repurchase_service")
    await schemes.publish_version(tid, SYSTEM, created.draft.id, date(2026, 10, 1))
    outcome = await close_period(tid, created.scheme.id, "2026-10")
    assert outcome.revision == 1

    lines = {(rule, amount) for staff, revision, rule, _kind, amount in await lines_of(tid) if staff == "g1"}
    # rate 1/2 of 0.4 (125 -> cap 120) x 40 + reactivated 2 of 10 (20) x 30 + contacts 120 of 100 (cap 120) x 30
    # = 48 + 6 + 36 = 90 points: service bonus 800 x 0.9 = 720; ladder: 2 reactivated < 5, nothing.
    assert lines == {
        ("reactivation_bonus", Decimal("0.00")),
        ("service_bonus", Decimal("720.00")),
        ("missed_follow_up", Decimal("-200.00")),
        ("follow_up_complaint", Decimal("-200.00")),
    }
