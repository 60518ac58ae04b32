"""Members from the console: an invitation made on the members page is the accounts service's pending invitation,
audited to the admin who made it; a manager cannot open the page (neither by signing in nor with a session whose role
was lowered to manager since), and nothing is invited then. The staff create form starts a new staff member active.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tenants.accounts.service import list_invitations
from tenants.audit.models import AuditEntry
from tenants.db.paging import PageRequest
from tenants.db.uow import tenant_unit_of_work
from tenants.tenancy import service as tenancy_service
from tenants.tenancy.auth import Role
from tenants.tenancy.identity import TenantId
from tenants.tenancy.models import Invitation, Membership
from tests.admin.conftest import Console, ConsoleFactory, signed_in
from tests.conftest import PASSWORD, TenantFactory, unique

INVITE = "/admin/members/invite"


async def invitations_to(tenant_id: TenantId, email: str) -> list[Invitation]:
    async with tenant_unit_of_work(tenant_id):
        return await Invitation.filter(tenant_id=tenant_id, email=email)


async def invitation_audit(tenant_id: TenantId) -> list[AuditEntry]:
    async with tenant_unit_of_work(tenant_id):
        return await AuditEntry.filter(tenant_id=tenant_id, action="invitation.create")


async def test_an_invitation_from_the_members_page_is_pending_and_audited(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant = await make_tenant()
    console = await signed_in(console_factory, tenant)
    listing = await console.get("/admin/membership-row/list")
    assert listing.status_code == 200 and INVITE in listing.text
    page = await console.get(INVITE)
    assert page.status_code == 200
    assert "邀请成员" in page.text  # the console is in Chinese
    email = f"{unique('invitee')}@example.com"

    invited = await console.post(INVITE, {"email": email.upper(), "role": "manager"})

    assert invited.status_code == 302, invited.text
    assert invited.headers["location"].endswith("/admin/membership-row/list")
    pending = await list_invitations(tenant.tenant_id, pending=True, page=PageRequest(limit=10, offset=0))
    invited_rows = [(i.email, i.role, i.invited_by_user_id) for i in pending.items]
    assert invited_rows == [(email, "manager", tenant.admin_user_id)]
    (invitation,) = pending.items
    assert invitation.accepted_at is None and invitation.revoked_at is None
    assert invitation.expires_at > datetime.now(UTC)
    (entry,) = await invitation_audit(tenant.tenant_id)
    assert (entry.actor_user_id, entry.entity, entry.entity_id) == (tenant.admin_user_id, "invitation", invitation.id)
    assert entry.after["email"] == email and entry.after["role"] == "manager"


async def test_a_bad_invitation_is_refused_on_the_page_and_stores_nothing(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant = await make_tenant()
    console = await signed_in(console_factory, tenant)
    await console.get(INVITE)
    no_role = await console.post(INVITE, {"email": f"{unique('x')}@example.com", "role": "emperor"})
    assert no_role.status_code == 400
    member = await console.post(INVITE, {"email": tenant.admin_email, "role": "admin"})
    assert member.status_code == 400
    assert await invitation_audit(tenant.tenant_id) == []
    pending = await list_invitations(tenant.tenant_id, pending=True, page=PageRequest(limit=10, offset=0))
    assert list(pending.items) == []


async def refused_invite(console: Console, tenant_id: TenantId, email: str) -> None:
    """The page does not open and its POST invites nobody."""
    opened = await console.http.get(INVITE)
    assert opened.status_code == 302 and "/admin/login" in opened.headers["location"]
    posted = await console.post(INVITE, {"email": email, "role": "admin"})
    assert posted.status_code in (302, 403)
    if posted.status_code == 302:
        assert "/admin/login" in posted.headers["location"]
    assert await invitations_to(tenant_id, email) == []
    assert await invitation_audit(tenant_id) == []


async def test_a_manager_cannot_open_the_invitation_page_and_nothing_is_invited(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant = await make_tenant(role=Role.MANAGER)
    console = await console_factory()
    assert (await console.login(tenant.admin_email)).status_code == 400
    await refused_invite(console, tenant.tenant_id, f"{unique('by-manager')}@example.com")


async def test_an_admin_lowered_to_manager_loses_the_invitation_page_at_once(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant = await make_tenant(role=Role.OWNER)
    admin = await tenancy_service.create_user(f"{unique('admin')}@example.com", PASSWORD)
    await tenancy_service.add_membership(tenant.tenant_id, admin.id, Role.ADMIN)
    console = await console_factory()
    assert (await console.login(admin.email)).status_code == 302
    assert (await console.get(INVITE)).status_code == 200  # the CSRF token of a live session is at hand
    async with tenant_unit_of_work(tenant.tenant_id):
        lowered = await Membership.filter(tenant_id=tenant.tenant_id, user_id=admin.id).update(role=Role.MANAGER.value)
    assert lowered == 1
    await refused_invite(console, tenant.tenant_id, f"{unique('by-lowered')}@example.com")


async def test_the_staff_create_form_starts_a_new_staff_member_active(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant = await make_tenant()
    console = await signed_in(console_factory, tenant)
    form = await console.get("/admin/staff-row/create")
    assert form.status_code == 200
    (checkbox,) = [tag for tag in form.text.split("<input")[1:] if 'id="active"' in tag.split(">")[0]]
    assert "checked" in checkbox.split(">")[0]
