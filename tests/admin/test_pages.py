"""Console pages beyond sign-in: API keys (shown once, revoked through a POST), members and roles, a staff member's
linked login, the scheme designer's refusals, simulation and diff, approvals, and the operator's merchant pages.
Every change goes through a service and lands in the audit log; refusals change nothing."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import select
from starlette.applications import Starlette

from admin.db import current_tenant
from admin.tables import AuditRow
from tenants.db.uow import tenant_unit_of_work
from tenants.demo import seed_worked_example
from tenants.periods.close import close_period
from tenants.periods.models import Period
from tenants.schemes.models import SchemeVersion
from tenants.staff.models import Staff
from tenants.tenancy import service as tenancy_service
from tenants.tenancy.auth import Role, Scope, authenticate_api_key
from tenants.tenancy.errors import AuthError
from tenants.tenancy.identity import TenantId
from tenants.tenancy.models import ApiKey, Membership, Tenant
from tests.admin.conftest import Console, ConsoleFactory, signed_in
from tests.conftest import PASSWORD, TenantFactory, unique
from tests.factories import add_staff

KEY = re.compile(r"kh_[0-9a-f]{12}_[A-Za-z0-9_-]+")


async def audit_actions(app: Starlette, tenant_id: TenantId) -> list[str]:
    token = current_tenant.set(tenant_id)
    try:
        async with app.state.admin_console.session_maker() as session:
            rows = (await session.execute(select(AuditRow.action).order_by(AuditRow.id))).scalars().all()
    finally:
        current_tenant.reset(token)
    return list(rows)


async def audit_afters(app: Starlette, tenant_id: TenantId) -> list[tuple[str, Any]]:
    token = current_tenant.set(tenant_id)
    try:
        async with app.state.admin_console.session_maker() as session:
            rows = (await session.execute(select(AuditRow.action, AuditRow.after).order_by(AuditRow.id))).all()
    finally:
        current_tenant.reset(token)
    return [(action, after) for action, after in rows]


async def test_an_api_key_is_shown_once_then_revoked_through_a_confirmed_post(
    make_tenant: TenantFactory, console_factory: ConsoleFactory, app: Starlette
) -> None:
    tenant = await make_tenant()
    console = await signed_in(console_factory, tenant)
    await console.get("/admin/api-key-row/create")
    created = await console.post("/admin/api-key-row/create", {"name": "POS", "scopes": "events:write", "save": "Save"})
    assert created.status_code == 200
    assert created.headers["cache-control"].startswith("no-store")
    plaintext = KEY.search(created.text)
    assert plaintext is not None
    principal = await authenticate_api_key(plaintext.group(0))
    listed = await console.get("/admin/api-key-row/list")
    assert plaintext.group(0) not in listed.text  # never shown again
    opened = await console.get(f"/admin/api-key-row/action/revoke?pks={principal.api_key_id}")
    assert opened.status_code == 302
    confirm = await console.get(opened.headers["location"])
    assert "确定吊销" in confirm.text
    assert (await authenticate_api_key(plaintext.group(0))).api_key_id == principal.api_key_id  # GET changed nothing
    revoked = await console.post("/admin/api-keys/revoke", {"pks": str(principal.api_key_id)})
    assert revoked.status_code == 302
    try:
        await authenticate_api_key(plaintext.group(0))
        raise AssertionError("the key still works")
    except AuthError:
        pass
    assert {"api_key.create", "api_key.revoke"} <= set(await audit_actions(app, tenant.tenant_id))


async def test_another_tenants_api_key_cannot_be_revoked(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant_a, tenant_b = await make_tenant(), await make_tenant()
    key = await tenancy_service.create_api_key(tenant_a.tenant_id, "A's key", [Scope.EVENTS_WRITE], None)
    console = await signed_in(console_factory, tenant_b)
    response = await console.post("/admin/api-keys/revoke", {"pks": str(key.api_key.id)})
    assert response.status_code == 400
    async with tenant_unit_of_work(tenant_a.tenant_id):
        assert (await ApiKey.get(id=key.api_key.id)).revoked_at is None


async def test_member_role_change_and_staff_login_link_go_through_their_services(
    make_tenant: TenantFactory, console_factory: ConsoleFactory, app: Starlette
) -> None:
    tenant = await make_tenant(role=Role.OWNER)
    other = await tenancy_service.create_user(f"{unique('m')}@example.com", PASSWORD)
    membership = await tenancy_service.add_membership(tenant.tenant_id, other.id, Role.STAFF)
    staff = await add_staff(tenant.tenant_id, "g-login")
    console = await signed_in(console_factory, tenant)
    page = await console.get(f"/admin/members/role?id={membership.id}")
    assert page.status_code == 200 and other.email in page.text
    refused = await console.post(f"/admin/members/role?id={membership.id}", {"id": membership.id, "role": "emperor"})
    assert refused.status_code == 400
    changed = await console.post("/admin/members/role", {"id": membership.id, "role": "manager"})
    assert changed.status_code == 302, changed.text
    async with tenant_unit_of_work(tenant.tenant_id):
        assert (await Membership.get(id=membership.id)).role == "manager"
    linked = await console.post("/admin/staff/login", {"id": staff.id, "user": str(other.id)})
    assert linked.status_code == 302, linked.text
    async with tenant_unit_of_work(tenant.tenant_id):
        assert (await Staff.get(id=staff.id)).user_id == other.id
    listed = await console.get("/admin/staff-row/list")
    assert other.email in listed.text
    assert len(await audit_actions(app, tenant.tenant_id)) >= 3


async def designer(console: Console, scheme_id: int, data: dict[str, Any]) -> Any:
    await console.get(f"/admin/schemes/design/{scheme_id}")
    return await console.post(f"/admin/schemes/design/{scheme_id}", data)


async def test_the_designer_refuses_an_invalid_config_whole_with_the_apis_codes_and_stores_nothing(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant = await make_tenant()
    console = await signed_in(console_factory, tenant)
    created = await console.post("/admin/schemes/new", {"template": "store_guide_new_customers", "name": "导购"})
    assert created.status_code == 302
    scheme_id = int(created.headers["location"].rstrip("/").split("/")[-1])
    page = await console.get(created.headers["location"])
    config = re.search(r"window.KAOHE_CONFIG = (.*);", page.text)
    assert config is not None
    broken = json.loads(config.group(1))
    broken["metrics"][0]["weight"] = 30
    broken["rewards"][0]["tiers"][1]["from"] = -5
    response = await designer(console, scheme_id, {"intent": "save", "config": json.dumps(broken)})
    assert response.status_code == 400
    assert "WEIGHTS_NOT_100" in response.text and "NEGATIVE_AMOUNT" in response.text
    assert "权重合计为 90" in response.text  # the API's message, in Chinese
    assert 'data-field="rewards[0].tiers[1].from"' in response.text
    not_json = await designer(console, scheme_id, {"intent": "save", "config": "{not json"})
    assert not_json.status_code == 400
    hostile = await designer(console, scheme_id, {"intent": "save", "config": json.dumps({"cycle": "\x00</script>"})})
    assert hostile.status_code == 400 and "</script><" not in hostile.text.split("KAOHE_CONFIG", 1)[1][:200]
    async with tenant_unit_of_work(tenant.tenant_id):
        versions = await SchemeVersion.filter(tenant_id=tenant.tenant_id, scheme_id=scheme_id)
    assert [(v.number, v.config["metrics"][0]["weight"]) for v in versions] == [(1, 40)]
    other = await make_tenant()
    stranger = await signed_in(console_factory, other)
    assert (await stranger.get(f"/admin/schemes/design/{scheme_id}")).status_code == 404


async def test_simulate_diff_approve_and_reopen_from_the_console(
    make_tenant: TenantFactory, console_factory: ConsoleFactory, app: Starlette
) -> None:
    tenant = await make_tenant()
    scheme_id = await seed_worked_example(tenant.tenant_id)
    console = await signed_in(console_factory, tenant)
    simulated = await designer(console, scheme_id, {"intent": "simulate", "period": "2026-10"})
    assert simulated.status_code == 200, simulated.text[:500]
    assert "guide-001" in simulated.text and "¥1,000.00" in simulated.text
    async with tenant_unit_of_work(tenant.tenant_id):
        assert await Period.filter(tenant_id=tenant.tenant_id).count() == 0  # a simulation stores nothing
    # a second version, then the diff between the two
    page = await console.get(f"/admin/schemes/design/{scheme_id}")
    config = re.search(r"window.KAOHE_CONFIG = (.*);", page.text)
    assert config is not None
    changed = json.loads(config.group(1))
    changed["metrics"][0]["target"] = 35
    saved = await designer(console, scheme_id, {"intent": "save", "config": json.dumps(changed)})
    assert saved.status_code == 200 and "草稿已保存" in saved.text
    async with tenant_unit_of_work(tenant.tenant_id):
        versions = await SchemeVersion.filter(tenant_id=tenant.tenant_id, scheme_id=scheme_id).order_by("number")
    diff = await console.get(f"/admin/schemes/diff?versions={versions[0].id},{versions[1].id}")
    assert "metrics[0].target" in diff.text and "35" in diff.text
    # close October (in process), then approve and reopen through the confirmation pages
    await close_period(tenant.tenant_id, scheme_id, "2026-10")
    async with tenant_unit_of_work(tenant.tenant_id):
        period = await Period.get(tenant_id=tenant.tenant_id, scheme_id=scheme_id, key="2026-10")
    confirm = await console.get(f"/admin/periods/action?intent=approve&period={period.id}")
    assert "确定审批" in confirm.text
    approved = await console.post("/admin/periods/action", {"intent": "approve", "period": period.id})
    assert approved.status_code == 302, approved.text[:500]
    again = await console.post("/admin/periods/action", {"intent": "approve", "period": period.id})
    assert again.status_code == 400  # already approved: the service's refusal, shown
    no_reason = await console.post("/admin/periods/action", {"intent": "reopen", "period": period.id, "reason": " "})
    assert no_reason.status_code == 400
    reopened = await console.post(
        "/admin/periods/action", {"intent": "reopen", "period": period.id, "reason": "补录漏单"}
    )
    assert reopened.status_code == 302
    actions = await audit_actions(app, tenant.tenant_id)
    assert {"statements.approve", "statements.reopen", "scheme_version.create_draft"} <= set(actions)
    ledger = await console.get(f"/admin/ledger-line-row/list?period={period.id}")
    assert "export-xlsx" in ledger.text and "¥1,000.00" in ledger.text
    assert "fa-pen-to-square" not in ledger.text and "fa-trash" not in ledger.text  # posted lines are read-only
    assert (await console.get(f"/admin/ledger-line-row/edit/{period.id}")).status_code == 403
    csv = await console.get(f"/admin/exports/statements.csv?scheme={scheme_id}&period=2026-10")
    assert csv.status_code == 200 and "guide-001" in csv.text
    dashboard = await console.get(f"/admin/dashboard?scheme={scheme_id}&period=2026-10")
    assert "¥1,100.00" in dashboard.text


async def test_the_operator_creates_suspends_and_resumes_a_merchant(console_factory: ConsoleFactory) -> None:
    email = f"{unique('op')}@example.com"
    await tenancy_service.create_user(email, PASSWORD, platform_operator=True)
    console = await console_factory()
    assert (await console.login(email)).status_code == 302
    slug = unique("shop")
    await console.get("/admin/tenant-row/new")
    bad = await console.post(
        "/admin/tenant-row/new", {"slug": slug, "name": "店", "timezone": "Mars/Base", "email": "x"}
    )
    assert bad.status_code == 400
    created = await console.post(
        "/admin/tenant-row/new",
        {"slug": slug, "name": "新店", "timezone": "Asia/Shanghai", "email": f"{unique('owner')}@example.com"},
    )
    assert created.status_code == 302, created.text[:500]
    tenant = await tenancy_service.tenant_by_slug(slug)
    assert tenant is not None
    suspended = await console.post("/admin/tenant-row/act", {"intent": "suspend", "tenant": tenant.id})
    assert suspended.status_code == 302
    assert (await _tenant(slug)).suspended_at is not None
    resumed = await console.post("/admin/tenant-row/act", {"intent": "resume", "tenant": tenant.id})
    assert resumed.status_code == 302
    assert (await _tenant(slug)).suspended_at is None


async def _tenant(slug: str) -> Tenant:
    found = await tenancy_service.tenant_by_slug(slug)
    assert found is not None
    return found


async def test_the_events_list_finds_an_external_id_exactly_and_shows_only_the_tenants_events(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    from tenants.events.models import Event

    tenant, other = await make_tenant(), await make_tenant()
    await seed_worked_example(tenant.tenant_id)
    async with tenant_unit_of_work(tenant.tenant_id):
        event = await Event.filter(tenant_id=tenant.tenant_id).order_by("id").first()
        total = await Event.filter(tenant_id=tenant.tenant_id).count()
    assert event is not None
    console = await signed_in(console_factory, tenant)
    listed = await console.get("/admin/event-row/list")
    assert listed.status_code == 200
    assert f"共 {total} 条" in listed.text  # under the cap the count is exact
    found = await console.get(f"/admin/event-row/list?search={event.external_id}")
    assert found.text.count(f">{event.external_id}<") == 1
    partial = await console.get(f"/admin/event-row/list?search={event.external_id[:-1]}")
    assert f">{event.external_id}<" not in partial.text
    stranger = await signed_in(console_factory, other)
    assert event.external_id not in (await stranger.get("/admin/event-row/list")).text
    assert (await stranger.get(f"/admin/event-row/details/{event.id}")).status_code == 404


async def test_attribution_rules_are_saved_as_a_version_or_refused_whole(
    make_tenant: TenantFactory, console_factory: ConsoleFactory, app: Starlette
) -> None:
    tenant = await make_tenant()
    console = await signed_in(console_factory, tenant)
    page = await console.get("/admin/attribution")
    assert page.status_code == 200 and "业绩归属规则" in page.text
    bad = {"exclusive_guide": {"protection_days": -3}, "large_order_threshold": "lots"}
    refused = await console.post("/admin/attribution", {"rules": json.dumps(bad), "effective_from": "2026-11-01"})
    assert refused.status_code == 400
    assert "data-field=" in refused.text and "尚无版本" in refused.text  # nothing stored
    good = {"exclusive_guide": {"protection_days": 30}, "large_order_threshold": "50000.00"}
    saved = await console.post("/admin/attribution", {"rules": json.dumps(good), "effective_from": "2026-11-01"})
    assert saved.status_code == 200 and "版本 1 已保存" in saved.text
    assert "attribution_rules.save" in await audit_actions(app, tenant.tenant_id)


async def test_a_close_request_leads_to_its_progress_page_and_the_job_is_the_tenants_own(
    make_tenant: TenantFactory, console_factory: ConsoleFactory, app: Starlette
) -> None:
    tenant, other = await make_tenant(), await make_tenant()
    scheme_id = await seed_worked_example(tenant.tenant_id)
    console = await signed_in(console_factory, tenant)
    await console.get("/admin/periods/close-new")
    too_early = await console.post("/admin/periods/close-new", {"scheme": scheme_id, "period": "2199-12"})
    assert too_early.status_code == 400  # the service's refusal (the period has not ended), shown on the form
    assert "period.close_requested" not in await audit_actions(app, tenant.tenant_id)  # a refusal is not audited
    requested = await console.post("/admin/periods/close-new", {"scheme": scheme_id, "period": "2026-10"})
    assert requested.status_code == 302, requested.text[:300]
    # audited once, by the service, in the unit of work that enqueued the close
    assert (await audit_actions(app, tenant.tenant_id)).count("period.close_requested") == 1
    assert "period.close_requested" not in await audit_actions(app, other.tenant_id)
    job_page = requested.headers["location"]
    assert "/admin/jobs/" in job_page
    # the entry names the job whose progress the console shows
    (entry,) = [
        after for action, after in await audit_afters(app, tenant.tenant_id) if action == "period.close_requested"
    ]
    assert job_page.endswith(f"/admin/jobs/{entry['job_id']}") and entry["joined"] is False
    assert (await console.get(job_page)).status_code == 200
    status = await console.get(job_page + "/status")
    assert status.json()["status"] in ("queued", "running", "complete")
    stranger = await signed_in(console_factory, other)
    assert (await stranger.get(job_page)).status_code == 404
    assert (await stranger.get(job_page + "/status")).status_code == 404


async def test_teams_form_a_tree_and_customers_get_their_exclusive_guide_through_the_services(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    from tenants.staff.models import Customer, Team

    tenant = await make_tenant()
    guide = await add_staff(tenant.tenant_id, "guide-9", name="小赵")
    console = await signed_in(console_factory, tenant)
    await console.get("/admin/team-row/create")
    region = await console.post("/admin/team-row/create", {"code": "east", "name": "华东区", "kind": "region"})
    assert region.status_code == 302, region.text[:300]
    async with tenant_unit_of_work(tenant.tenant_id):
        east = await Team.get(tenant_id=tenant.tenant_id, code="east")
    store = await console.post(
        "/admin/team-row/create", {"code": "sh-1", "name": "上海一店", "kind": "store", "parent": str(east.id)}
    )
    assert store.status_code == 302
    async with tenant_unit_of_work(tenant.tenant_id):
        shop = await Team.get(tenant_id=tenant.tenant_id, code="sh-1")
    assert shop.parent_id == east.id
    cycle = await console.post(
        f"/admin/team-row/edit/{east.id}", {"name": "华东区", "kind": "region", "parent": shop.id}
    )
    assert cycle.status_code == 400 and "TEAM_CYCLE" not in cycle.text  # a message, not a code dump
    async with tenant_unit_of_work(tenant.tenant_id):
        assert (await Team.get(id=east.id)).parent_id is None
    tree = await console.get("/admin/team-row/list")
    assert "华东区 › 上海一店" in tree.text
    bound = await console.post("/admin/customer-row/create", {"code": "c-1", "name": "张女士", "guide": str(guide.id)})
    assert bound.status_code == 302, bound.text[:300]
    async with tenant_unit_of_work(tenant.tenant_id):
        customer = await Customer.get(tenant_id=tenant.tenant_id, code="c-1")
    assert customer.guide_staff_id == guide.id and customer.bound_since is not None


async def test_editing_a_staff_member_leaves_an_audit_entry_with_before_and_after_listed_in_the_audit_log(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    from tenants.audit.models import AuditEntry
    from tests.factories import add_team

    tenant, other = await make_tenant(), await make_tenant()
    old_team, new_team = (
        await add_team(tenant.tenant_id, "sh-1", name="上海一店"),
        await add_team(tenant.tenant_id, "sh-2", name="上海二店"),
    )
    staff = await add_staff(tenant.tenant_id, "g-7", team_id=old_team.id, name="小王")
    console = await signed_in(console_factory, tenant)
    await console.get(f"/admin/staff-row/edit/{staff.id}")
    edited = await console.post(
        f"/admin/staff-row/edit/{staff.id}",
        {"name": "王晓明", "role": "guide", "team": str(new_team.id), "active": "y", "save": "Save"},
    )
    assert edited.status_code == 302, edited.text[:500]
    async with tenant_unit_of_work(tenant.tenant_id):
        entry = await AuditEntry.filter(tenant_id=tenant.tenant_id, entity="staff").order_by("-id").first()
    assert entry is not None and (entry.action, entry.actor_user_id) == ("upsert", tenant.admin_user_id)
    assert entry.before["g-7"]["name"] == "小王" and entry.before["g-7"]["team_code"] == "sh-1"
    after = entry.after["rows"]["g-7"]
    assert (after["name"], after["team_code"], after["active"]) == ("王晓明", "sh-2", True)
    # the console's audit log lists it, before and after shown
    listed = await console.get("/admin/audit-row/list?search=upsert")
    assert listed.status_code == 200
    assert "小王" in listed.text and "王晓明" in listed.text and "sh-2" in listed.text
    details = await console.get(f"/admin/audit-row/details/{entry.id}")
    assert details.status_code == 200 and "小王" in details.text and "王晓明" in details.text
    # another merchant's console neither lists nor opens it
    stranger = await signed_in(console_factory, other)
    assert "王晓明" not in (await stranger.get("/admin/audit-row/list")).text
    assert (await stranger.get(f"/admin/audit-row/details/{entry.id}")).status_code == 404
