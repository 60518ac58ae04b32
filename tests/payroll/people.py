"""People for the payroll tests: staff logins linked to staff records (staff.user_id), managers of teams."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tenants.access.service import link_staff_user, set_member_teams
from tenants.audit.service import SYSTEM
from tenants.tenancy import service as tenancy
from tenants.tenancy.auth import Role
from tenants.tenancy.identity import TenantId
from tests.conftest import PASSWORD, unique
from tests.factories import add_staff


@dataclass(frozen=True)
class Login:
    user_id: int
    email: str
    staff_id: int | None


async def new_login(tenant_id: TenantId, role: Role) -> Login:
    email = f"{unique(role.value)}@example.com"
    user = await tenancy.create_user(email, PASSWORD)
    await tenancy.add_membership(tenant_id, user.id, role)
    return Login(user.id, email, None)


async def staff_login(tenant_id: TenantId, code: str, *, role: Role = Role.STAFF, team_id: int | None = None) -> Login:
    """A staff record `code` with a login of `role` linked to it (the mini-program's staff login)."""
    login = await new_login(tenant_id, role)
    staff = await add_staff(tenant_id, code, team_id=team_id)
    await link_staff_user(tenant_id, SYSTEM, code, login.user_id)
    return Login(login.user_id, login.email, staff.id)


async def manager_of(tenant_id: TenantId, team_codes: Sequence[str]) -> Login:
    login = await new_login(tenant_id, Role.MANAGER)
    await set_member_teams(tenant_id, SYSTEM, login.user_id, team_codes)
    return login
