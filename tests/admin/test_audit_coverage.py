"""Issue 11 item 7, write by write: every change the console offers leaves its audit entry (who, when, what, the
state before and after), and the console's audit log lists it, filters it and keeps it from other merchants.

Each test performs console writes over HTTP as a signed-in merchant admin (the platform operator for merchants) and
reads the audit rows written since the write began: exactly the entries that write owes, by the acting user, naming
the action, the entity and its id, with a `before` and `after` that show the change (before null for a creation,
after null or a revoked/inactive state for a removal, the old and new values for an update). A write that changes
two records (a scheme and its first draft; a merchant and its first owner's invitation; a new invitation and the
pending one it replaces) owes one entry per record, each naming its own.

Master data entries are batch entries of tenants/staff/service.py: action "upsert", each row identified by its code
as the key of `before` and `after.rows`; a batch of one (every console edit) names its row's id.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tenants.audit.models import AuditEntry
from tenants.db.uow import tenant_unit_of_work
from tenants.demo import seed_worked_example
from tenants.periods.close import close_period
from tenants.periods.models import Period
from tenants.schemes.models import SchemeVersion
from tenants.staff.models import Customer, Staff, Team
from tenants.tenancy import service as tenancy_service
from tenants.tenancy.auth import Role
from tenants.tenancy.identity import TenantId, tenant_id_for_system
from tenants.tenancy.models import ApiKey, Invitation
from tests.admin.conftest import Console, ConsoleFactory, signed_in
from tests.conftest import PASSWORD, TenantFactory, unique
from tests.factories import add_staff

DETAILS = re.compile(r"/admin/audit-row/details/(\d+)")


# --- helpers --------------------------------------------------------------------------------------------------------


async def last_entry_id(tenant_id: TenantId) -> int:
    async with tenant_unit_of_work(tenant_id):
        last = await AuditEntry.filter(tenant_id=tenant_id).order_by("-id").first()
    return last.id if last is not None else 0


async def entries_since(tenant_id: TenantId, mark: int) -> list[AuditEntry]:
    async with tenant_unit_of_work(tenant_id):
        return await AuditEntry.filter(tenant_id=tenant_id, id__gt=mark).order_by("id")


class Audited:
    """Marks the tenant's audit log before a write; `one()` / `all()` read what the write added."""

    def __init__(self, tenant_id: TenantId) -> None:
        self.tenant_id = tenant_id
        self.mark = 0

    async def start(self) -> Audited:
        self.mark = await last_entry_id(self.tenant_id)
        return self

    async def all(self) -> list[AuditEntry]:
        entries = await entries_since(self.tenant_id, self.mark)
        self.mark = max([self.mark, *(entry.id for entry in entries)])
        return entries

    async def one(self, actor: int, action: str, entity: str, entity_id: int | None) -> AuditEntry:
        entries = await self.all()
        assert [(e.actor_user_id, e.action, e.entity, e.entity_id) for e in entries] == [
            (actor, action, entity, entity_id)
        ], [(e.action, e.entity, e.entity_id, e.before, e.after) for e in entries]
        assert entries[0].actor_api_key_id is None and entries[0].at is not None
        return entries[0]


async def form_post(console: Console, page: str, data: dict[str, Any], target: str | None = None) -> int:
    """Opens the form (its CSRF token) and posts it, as a browser does; the response's status."""
    await console.get(page)
    response = await console.post(target or page, data)
    assert response.status_code in (200, 302), response.text[:800]
    return response.status_code


def listed_ids(html: str) -> set[int]:
    return {int(found) for found in DETAILS.findall(html)}


# --- master data ----------------------------------------------------------------------------------------------------


async def test_team_staff_and_customer_creates_updates_and_the_staff_delete_are_audited_with_their_rows(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant = await make_tenant()
    me = tenant.admin_user_id
    console = await signed_in(console_factory, tenant)
    audited = await Audited(tenant.tenant_id).start()

    await form_post(console, "/admin/team-row/create", {"code": "east", "name": "华东区", "kind": "region"})
    async with tenant_unit_of_work(tenant.tenant_id):
        east = await Team.get(tenant_id=tenant.tenant_id, code="east")
    entry = await audited.one(me, "upsert", "team", east.id)
    assert entry.before == {"east": None}
    assert entry.after["created_codes"] == ["east"]
    assert entry.after["rows"]["east"]["name"] == "华东区"

    await form_post(console, f"/admin/team-row/edit/{east.id}", {"name": "华东大区", "kind": "region"})
    entry = await audited.one(me, "upsert", "team", east.id)
    assert entry.before["east"]["name"] == "华东区" and entry.after["rows"]["east"]["name"] == "华东大区"
    assert entry.after["updated_codes"] == ["east"]

    await form_post(
        console,
        "/admin/staff-row/create",
        {"code": "g-1", "name": "小王", "role": "guide", "team": str(east.id), "active": "y"},
    )
    async with tenant_unit_of_work(tenant.tenant_id):
        staff = await Staff.get(tenant_id=tenant.tenant_id, code="g-1")
    entry = await audited.one(me, "upsert", "staff", staff.id)
    assert entry.before == {"g-1": None}
    row = entry.after["rows"]["g-1"]
    assert (row["name"], row["role"], row["team_code"], row["active"]) == ("小王", "guide", "east", True)

    await form_post(
        console,
        f"/admin/staff-row/edit/{staff.id}",
        {"name": "王晓明", "role": "sales", "team": str(east.id), "active": "y"},
    )
    entry = await audited.one(me, "upsert", "staff", staff.id)
    assert (entry.before["g-1"]["name"], entry.before["g-1"]["role"]) == ("小王", "guide")
    assert (entry.after["rows"]["g-1"]["name"], entry.after["rows"]["g-1"]["role"]) == ("王晓明", "sales")

    # "delete" deactivates (a staff member's history stays explainable): the entry shows active true -> false
    deleted = await console.http.delete(
        f"/admin/staff-row/delete?pks={staff.id}", headers={"x-csrf-token": console.token}
    )
    assert deleted.status_code == 200, deleted.text[:500]
    entry = await audited.one(me, "upsert", "staff", staff.id)
    assert entry.before["g-1"]["active"] is True and entry.after["rows"]["g-1"]["active"] is False

    await form_post(console, "/admin/customer-row/create", {"code": "c-1", "name": "张女士", "guide": str(staff.id)})
    async with tenant_unit_of_work(tenant.tenant_id):
        customer = await Customer.get(tenant_id=tenant.tenant_id, code="c-1")
    entry = await audited.one(me, "upsert", "customer", customer.id)
    assert entry.before == {"c-1": None}
    assert (entry.after["rows"]["c-1"]["name"], entry.after["rows"]["c-1"]["guide_code"]) == ("张女士", "g-1")

    await form_post(console, f"/admin/customer-row/edit/{customer.id}", {"name": "张丽", "guide": ""})
    entry = await audited.one(me, "upsert", "customer", customer.id)
    assert (entry.before["c-1"]["name"], entry.before["c-1"]["guide_code"]) == ("张女士", "g-1")
    assert (entry.after["rows"]["c-1"]["name"], entry.after["rows"]["c-1"]["guide_code"]) == ("张丽", None)


async def test_linking_and_unlinking_a_staff_members_login_are_audited_on_the_staff_record(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant = await make_tenant()
    other = await tenancy_service.create_user(f"{unique('guide')}@example.com", PASSWORD)
    await tenancy_service.add_membership(tenant.tenant_id, other.id, Role.STAFF)
    staff = await add_staff(tenant.tenant_id, "g-login")
    console = await signed_in(console_factory, tenant)
    audited = await Audited(tenant.tenant_id).start()
    page = f"/admin/staff/login?id={staff.id}"

    await form_post(console, page, {"id": staff.id, "user": str(other.id)}, "/admin/staff/login")
    entry = await audited.one(tenant.admin_user_id, "staff.link_user", "staff", staff.id)
    assert (entry.before, entry.after) == ({"user_id": None}, {"user_id": other.id})

    await form_post(console, page, {"id": staff.id, "user": ""}, "/admin/staff/login")
    entry = await audited.one(tenant.admin_user_id, "staff.unlink_user", "staff", staff.id)
    assert (entry.before, entry.after) == ({"user_id": other.id}, {"user_id": None})


# --- settings: API keys, members ------------------------------------------------------------------------------------


async def test_an_api_keys_creation_and_revocation_are_audited_without_its_secret(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant = await make_tenant()
    console = await signed_in(console_factory, tenant)
    audited = await Audited(tenant.tenant_id).start()

    await form_post(console, "/admin/api-key-row/create", {"name": "POS", "scopes": "events:write", "save": "Save"})
    async with tenant_unit_of_work(tenant.tenant_id):
        key = await ApiKey.get(tenant_id=tenant.tenant_id, name="POS")
    entry = await audited.one(tenant.admin_user_id, "api_key.create", "api_key", key.id)
    assert entry.before is None
    assert entry.after == {"name": "POS", "prefix": key.prefix, "scopes": ["events:write"], "revokedAt": None}

    await form_post(console, f"/admin/api-keys/revoke?pks={key.id}", {"pks": str(key.id)}, "/admin/api-keys/revoke")
    entry = await audited.one(tenant.admin_user_id, "api_key.revoke", "api_key", key.id)
    assert entry.before["revokedAt"] is None and entry.after["revokedAt"] is not None
    assert json.dumps(entry.after).count("hash") == 0


async def test_inviting_changing_a_role_and_removing_a_member_are_audited(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant = await make_tenant()
    me = tenant.admin_user_id
    console = await signed_in(console_factory, tenant)
    audited = await Audited(tenant.tenant_id).start()

    email = f"{unique('invitee')}@example.com"
    await form_post(console, "/admin/members/invite", {"email": email, "role": "manager"})
    async with tenant_unit_of_work(tenant.tenant_id):
        (first,) = await Invitation.filter(tenant_id=tenant.tenant_id, email=email)
    entry = await audited.one(me, "invitation.create", "invitation", first.id)
    assert entry.before is None and (entry.after["email"], entry.after["role"]) == (email, "manager")

    member = await tenancy_service.create_user(f"{unique('member')}@example.com", PASSWORD)
    membership = await tenancy_service.add_membership(tenant.tenant_id, member.id, Role.STAFF)
    await form_post(
        console,
        f"/admin/members/role?id={membership.id}",
        {"id": membership.id, "role": "manager"},
        "/admin/members/role",
    )
    # the API's members are keyed by user id: so is the entry (entity_id = the member's user id)
    entry = await audited.one(me, "membership.set_role", "membership", member.id)
    assert (entry.before["role"], entry.after["role"]) == ("staff", "manager")
    assert entry.before["email"] == entry.after["email"] == member.email

    await form_post(
        console, f"/admin/members/remove?id={membership.id}", {"id": membership.id}, "/admin/members/remove"
    )
    entry = await audited.one(me, "membership.remove", "membership", member.id)
    assert entry.before == {"userId": member.id, "email": member.email, "role": "manager"} and entry.after is None


async def test_inviting_an_address_again_audits_the_revocation_of_its_pending_invitation(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    """A new invitation replaces the address's pending one (its token stops working): that invitation changed, so
    its entry says so (before: pending, after: revoked), next to the new invitation's."""
    tenant = await make_tenant()
    console = await signed_in(console_factory, tenant)
    email = f"{unique('invitee')}@example.com"
    await form_post(console, "/admin/members/invite", {"email": email, "role": "manager"})
    audited = await Audited(tenant.tenant_id).start()

    await form_post(console, "/admin/members/invite", {"email": email, "role": "admin"})

    async with tenant_unit_of_work(tenant.tenant_id):
        first, second = await Invitation.filter(tenant_id=tenant.tenant_id, email=email).order_by("id")
    assert first.revoked_at is not None and second.revoked_at is None
    entries = await audited.all()
    shown = [(e.actor_user_id, e.action, e.entity, e.entity_id) for e in entries]
    me = tenant.admin_user_id
    assert shown == [
        (me, "invitation.revoke", "invitation", first.id),
        (me, "invitation.create", "invitation", second.id),
    ]
    revoked, created = entries
    assert revoked.before["revokedAt"] is None and revoked.before["role"] == "manager"
    assert revoked.after["revokedAt"] is not None
    assert created.before is None and created.after["role"] == "admin"


# --- schemes and attribution rules ----------------------------------------------------------------------------------


async def test_a_scheme_from_a_template_its_draft_edits_and_publishing_are_audited(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant = await make_tenant()
    me = tenant.admin_user_id
    console = await signed_in(console_factory, tenant)
    audited = await Audited(tenant.tenant_id).start()

    await console.get("/admin/schemes/new")
    created = await console.post("/admin/schemes/new", {"template": "store_guide_new_customers", "name": "导购方案"})
    assert created.status_code == 302, created.text[:500]
    scheme_id = int(created.headers["location"].rstrip("/").split("/")[-1])
    async with tenant_unit_of_work(tenant.tenant_id):
        (draft,) = await SchemeVersion.filter(tenant_id=tenant.tenant_id, scheme_id=scheme_id)
    scheme_entry, draft_entry = await audited.all()
    assert (scheme_entry.actor_user_id, scheme_entry.action, scheme_entry.entity, scheme_entry.entity_id) == (
        me,
        "scheme.create",
        "scheme",
        scheme_id,
    )
    assert scheme_entry.before is None
    assert (scheme_entry.after["name"], scheme_entry.after["template"]) == ("导购方案", "store_guide_new_customers")
    assert (draft_entry.actor_user_id, draft_entry.action, draft_entry.entity, draft_entry.entity_id) == (
        me,
        "scheme_version.create_draft",
        "scheme_version",
        draft.id,
    )
    assert draft_entry.before is None and (draft_entry.after["number"], draft_entry.after["status"]) == (1, "draft")

    designer = f"/admin/schemes/design/{scheme_id}"
    changed = json.loads(json.dumps(draft.config))
    old_target = changed["metrics"][0]["target"]
    changed["metrics"][0]["target"] = old_target + 5
    await form_post(console, designer, {"intent": "save", "config": json.dumps(changed)})
    entry = await audited.one(me, "scheme_version.update_draft", "scheme_version", draft.id)
    assert entry.before["config"]["metrics"][0]["target"] == old_target
    assert entry.after["config"]["metrics"][0]["target"] == old_target + 5

    await form_post(console, designer, {"intent": "publish", "effective_from": "2026-01-01"})
    entry = await audited.one(me, "scheme_version.publish", "scheme_version", draft.id)
    assert (entry.before["status"], entry.before["effective_from"], entry.before["published_by_user_id"]) == (
        "draft",
        None,
        None,
    )
    assert (entry.after["status"], entry.after["effective_from"], entry.after["published_by_user_id"]) == (
        "published",
        "2026-01-01",
        me,
    )

    # editing a published scheme opens a new draft: a creation
    changed["metrics"][0]["target"] = old_target + 10
    await form_post(console, designer, {"intent": "save", "config": json.dumps(changed)})
    async with tenant_unit_of_work(tenant.tenant_id):
        second = await SchemeVersion.get(tenant_id=tenant.tenant_id, scheme_id=scheme_id, number=2)
    entry = await audited.one(me, "scheme_version.create_draft", "scheme_version", second.id)
    assert entry.before is None and entry.after["config"]["metrics"][0]["target"] == old_target + 10


async def test_saving_attribution_rules_is_audited_as_a_new_version(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant = await make_tenant()
    console = await signed_in(console_factory, tenant)
    audited = await Audited(tenant.tenant_id).start()
    rules = {"exclusive_guide": {"protection_days": 30}, "large_order_threshold": "50000.00"}
    await form_post(console, "/admin/attribution", {"rules": json.dumps(rules), "effective_from": "2026-11-01"})
    entries = await audited.all()
    assert len(entries) == 1
    (entry,) = entries
    assert (entry.actor_user_id, entry.action, entry.entity) == (
        tenant.admin_user_id,
        "attribution_rules.save",
        "attribution_rule_version",
    )
    assert entry.entity_id is not None and entry.before is None
    assert entry.after["number"] == 1 and entry.after["effective_from"] == "2026-11-01"
    assert entry.after["config"]["exclusive_guide"]["protection_days"] == 30


# --- periods: close, re-close, approve, reopen ----------------------------------------------------------------------


async def test_close_reclose_approval_and_reopening_from_the_console_are_audited(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant = await make_tenant()
    me = tenant.admin_user_id
    scheme_id = await seed_worked_example(tenant.tenant_id)
    console = await signed_in(console_factory, tenant)
    audited = await Audited(tenant.tenant_id).start()

    # October has no period row yet: the entry has no period id (the close creates the row)
    await form_post(console, "/admin/periods/close-new", {"scheme": scheme_id, "period": "2026-10"})
    entry = await audited.one(me, "period.close_requested", "period", None)
    assert entry.before is None
    assert (entry.after["scheme_id"], entry.after["period"], entry.after["force"]) == (scheme_id, "2026-10", False)
    assert entry.after["job_id"]

    await close_period(tenant.tenant_id, scheme_id, "2026-10")  # in process (no worker here): the statements
    async with tenant_unit_of_work(tenant.tenant_id):
        period = await Period.get(tenant_id=tenant.tenant_id, scheme_id=scheme_id, key="2026-10")
    assert await audited.all() == []  # the close itself is the system's, not a console write

    action = "/admin/periods/action"
    await form_post(
        console, f"{action}?intent=reclose&period={period.id}", {"intent": "reclose", "period": period.id}, action
    )
    entry = await audited.one(me, "period.close_requested", "period", period.id)
    assert (entry.after["period"], entry.after["force"]) == ("2026-10", True) and entry.after["job_id"]
    # a request: before is the period the re-close starts from; the next revision is the job's
    assert (entry.before["state"], entry.before["revision"]) == ("closed", period.revision)

    await form_post(
        console, f"{action}?intent=approve&period={period.id}", {"intent": "approve", "period": period.id}, action
    )
    entry = await audited.one(me, "statements.approve", "period", period.id)
    assert (entry.before["state"], entry.before["approved_revision"]) == ("NOT_APPROVED", None)
    assert (entry.after["state"], entry.after["approved_revision"]) == ("APPROVED", period.revision)

    await form_post(
        console,
        f"{action}?intent=reopen&period={period.id}",
        {"intent": "reopen", "period": period.id, "reason": "补录漏单"},
        action,
    )
    entry = await audited.one(me, "statements.reopen", "period", period.id)
    assert (entry.before["state"], entry.before["reopen_reason"]) == ("APPROVED", None)
    assert (entry.after["state"], entry.after["reopen_reason"]) == ("REOPENED", "补录漏单")


# --- sign-in, tenant switch, sign-out -------------------------------------------------------------------------------


async def test_signing_in_switching_tenant_and_signing_out_are_audited_in_the_tenant_concerned(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant_a, tenant_b = await make_tenant(), await make_tenant()
    user = tenant_a.admin_user_id
    await tenancy_service.add_membership(tenant_b.tenant_id, user, Role.OWNER)
    in_a, in_b = await Audited(tenant_a.tenant_id).start(), await Audited(tenant_b.tenant_id).start()

    console = await console_factory()
    chooser = await console.login(tenant_a.admin_email)
    assert chooser.status_code == 302 and chooser.headers["location"].endswith("/admin/choose-tenant")
    assert await in_a.all() == [] and await in_b.all() == []  # signed in, but no tenant entered yet

    await form_post(console, "/admin/choose-tenant", {"tenant": tenant_a.slug})
    entry = await in_a.one(user, "console.login", "user", user)
    assert entry.before is None
    assert entry.after == {"email": tenant_a.admin_email, "tenant": tenant_a.slug, "role": "admin"}

    await form_post(console, "/admin/choose-tenant", {"tenant": tenant_b.slug})
    entry = await in_b.one(user, "console.login", "user", user)
    assert entry.after == {"email": tenant_a.admin_email, "tenant": tenant_b.slug, "role": "owner"}
    assert await in_a.all() == []

    assert (await console.get("/admin/logout")).status_code == 302
    entry = await in_b.one(user, "user.logout", "user", user)
    assert (entry.before, entry.after) == ({"signedIn": True}, {"signedIn": False})
    assert await in_a.all() == []
    assert (await console.get("/admin/staff-row/list")).status_code == 302  # signed out indeed


async def test_a_single_tenant_sign_in_is_audited_once(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant = await make_tenant()
    audited = await Audited(tenant.tenant_id).start()
    await signed_in(console_factory, tenant)
    entry = await audited.one(tenant.admin_user_id, "console.login", "user", tenant.admin_user_id)
    assert entry.before is None and entry.after["tenant"] == tenant.slug


# --- the platform operator ------------------------------------------------------------------------------------------


async def test_the_operators_merchant_creation_suspension_and_resumption_are_audited_in_that_merchant(
    console_factory: ConsoleFactory,
) -> None:
    email = f"{unique('op')}@example.com"
    operator = await tenancy_service.create_user(email, PASSWORD, platform_operator=True)
    console = await console_factory()
    assert (await console.login(email)).status_code == 302
    slug, owner = unique("shop"), f"{unique('owner')}@example.com"
    await form_post(
        console, "/admin/tenant-row/new", {"slug": slug, "name": "新店", "timezone": "Asia/Shanghai", "email": owner}
    )
    tenant = await tenancy_service.tenant_by_slug(slug)
    assert tenant is not None
    tenant_id = tenant_id_for_system(tenant.id)
    async with tenant_unit_of_work(tenant_id):
        (invitation,) = await Invitation.filter(tenant_id=tenant_id)
    audited = Audited(tenant_id)
    created, invited = await audited.all()
    assert (created.actor_user_id, created.action, created.entity, created.entity_id) == (
        operator.id,
        "tenant.create",
        "tenant",
        tenant.id,
    )
    assert created.before is None and (created.after["slug"], created.after["name"]) == (slug, "新店")
    assert (invited.actor_user_id, invited.action, invited.entity, invited.entity_id) == (
        operator.id,
        "invitation.create",
        "invitation",
        invitation.id,
    )
    assert invited.before is None and (invited.after["email"], invited.after["role"]) == (owner, "owner")

    act = "/admin/tenant-row/act"
    await form_post(
        console, f"{act}?intent=suspend&tenant={tenant.id}", {"intent": "suspend", "tenant": tenant.id}, act
    )
    entry = await audited.one(operator.id, "tenant.suspend", "tenant", tenant.id)
    assert entry.before["suspendedAt"] is None and entry.after["suspendedAt"] is not None

    await form_post(console, f"{act}?intent=resume&tenant={tenant.id}", {"intent": "resume", "tenant": tenant.id}, act)
    entry = await audited.one(operator.id, "tenant.resume", "tenant", tenant.id)
    assert entry.before["suspendedAt"] is not None and entry.after["suspendedAt"] is None


# --- the console's audit log: listed, filtered, the tenant's own ----------------------------------------------------


async def test_the_audit_log_lists_and_filters_the_consoles_entries_and_another_merchant_sees_none(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant, other = await make_tenant(), await make_tenant()
    colleague = await tenancy_service.create_user(f"{unique('colleague')}@example.com", PASSWORD)
    await tenancy_service.add_membership(tenant.tenant_id, colleague.id, Role.ADMIN)
    console = await signed_in(console_factory, tenant)
    audited = await Audited(tenant.tenant_id).start()
    await form_post(console, "/admin/team-row/create", {"code": "east", "name": "华东区", "kind": "region"})
    await form_post(console, "/admin/api-key-row/create", {"name": "POS", "scopes": "events:write", "save": "Save"})
    team_entry, key_entry = await audited.all()
    second = await console_factory()
    assert (await second.login(colleague.email, tenant=tenant.slug)).status_code == 302
    (login_entry,) = await audited.all()
    ours = {team_entry.id, key_entry.id, login_entry.id}

    listed = await console.get("/admin/audit-row/list")
    assert listed.status_code == 200 and ours <= listed_ids(listed.text)
    assert "华东区" in listed.text and "POS" in listed.text  # the after images are shown
    by_action = await console.get("/admin/audit-row/list?action=api_key.create")
    assert listed_ids(by_action.text) == {key_entry.id}
    by_entity = await console.get("/admin/audit-row/list?entity=team")
    assert listed_ids(by_entity.text) == {team_entry.id}
    by_actor = await console.get(f"/admin/audit-row/list?actor={colleague.id}")
    assert listed_ids(by_actor.text) == {login_entry.id}
    mine = listed_ids((await console.get(f"/admin/audit-row/list?actor={tenant.admin_user_id}")).text)
    assert {team_entry.id, key_entry.id} <= mine and login_entry.id not in mine
    details = await console.get(f"/admin/audit-row/details/{key_entry.id}")
    assert details.status_code == 200 and "api_key.create" in details.text and "POS" in details.text

    stranger = await signed_in(console_factory, other)
    theirs = await stranger.get("/admin/audit-row/list")
    assert not ours & listed_ids(theirs.text)
    assert tenant.admin_email not in theirs.text and colleague.email not in theirs.text  # nor in the Who filter
    for entry_id in ours:
        assert (await stranger.get(f"/admin/audit-row/details/{entry_id}")).status_code == 404
    assert not ours & listed_ids((await stranger.get("/admin/audit-row/list?action=api_key.create")).text)
    assert not ours & listed_ids((await stranger.get(f"/admin/audit-row/list?actor={tenant.admin_user_id}")).text)
