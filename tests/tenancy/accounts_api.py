"""GraphQL documents and small readers shared by the accounts tests (issue 9 items 1 and 2)."""

from __future__ import annotations

from typing import Any

from tenants.audit.models import AuditEntry
from tenants.db.uow import global_unit_of_work, platform_unit_of_work, tenant_unit_of_work
from tenants.tenancy.identity import TenantId
from tenants.tenancy.models import Invitation, Membership, PasswordReset, Tenant, User

# The two error types' codes are different enums: one selection needs an alias for one of them.
ERRORS = (
    "... on TenancyErrors { errors { field code message } } "
    "... on AccessErrors { accessErrors: errors { field accessCode: code index } }"
)

CREATE_TENANT = """
mutation($slug: String!, $name: String!, $email: String!) {
  createTenant(slug: $slug, name: $name, firstAdminEmail: $email) {
    __typename
    ... on TenantCreated { tenant { id slug suspendedAt } invitation { id email role expiresAt } }
    ... on TenancyErrors { errors { field code message } }
  }
}
"""
SUSPEND = """
mutation($id: ID!) {
  suspendTenant(id: $id) {
    __typename
    ... on TenantSuspended { tenant { id suspendedAt } }
    ... on TenancyErrors { errors { field code message } }
  }
}
"""
RESUME = """
mutation($id: ID!) {
  resumeTenant(id: $id) {
    __typename
    ... on TenantResumed { tenant { id suspendedAt } }
    ... on TenancyErrors { errors { field code message } }
  }
}
"""
TENANTS = """
query($suspended: Boolean, $limit: Int, $offset: Int) {
  tenants(suspended: $suspended, limit: $limit, offset: $offset) { total limit offset items { id slug suspendedAt } }
}
"""
INVITE = f"""
mutation($email: String!, $role: Role!, $teams: [String!], $staffCode: String) {{
  inviteUser(email: $email, role: $role, teams: $teams, staffCode: $staffCode) {{
    __typename
    ... on UserInvited {{ invitation {{ id email role teams staffCode expiresAt }} }}
    {ERRORS}
  }}
}}
"""
ACCEPT = f"""
mutation($token: String!, $password: String!, $displayName: String! = "") {{
  acceptInvitation(token: $token, password: $password, displayName: $displayName) {{
    __typename
    ... on InvitationAccepted {{ createdUser tenant {{ slug }} tokens {{ accessToken refreshToken }} }}
    {ERRORS}
  }}
}}
"""
SET_ROLE = """
mutation($userId: ID!, $role: Role!) {
  setMemberRole(userId: $userId, role: $role) {
    __typename
    ... on MemberRoleSet { member { userId email role } }
    ... on TenancyErrors { errors { field code message } }
  }
}
"""
REMOVE = """
mutation($userId: ID!) {
  removeMember(userId: $userId) {
    __typename
    ... on MemberRemoved { member { userId email role } }
    ... on TenancyErrors { errors { field code message } }
  }
}
"""
MEMBERS = """
query($limit: Int, $offset: Int) {
  members(limit: $limit, offset: $offset) { total limit offset items { userId email displayName role memberSince } }
}
"""
CHANGE_PASSWORD = """
mutation($current: String!, $new: String!) {
  changePassword(currentPassword: $current, newPassword: $new) {
    __typename
    ... on PasswordChanged { tokens { accessToken refreshToken } }
    ... on TenancyErrors { errors { field code message } }
  }
}
"""
REQUEST_RESET = """
mutation($email: String!) {
  requestPasswordReset(email: $email) {
    __typename
    ... on PasswordResetRequested { accepted }
    ... on TenancyErrors { errors { field code message } }
  }
}
"""
RESET = """
mutation($token: String!, $password: String!) {
  resetPassword(token: $token, password: $password) {
    __typename
    ... on PasswordResetDone { done }
    ... on TenancyErrors { errors { field code message } }
  }
}
"""
LOGOUT = "mutation { logout { done } }"
REFRESH = """
mutation($token: String!) {
  refreshToken(refreshToken: $token) {
    __typename
    ... on AuthTokens { accessToken refreshToken }
    ... on AuthErrors { errors { code } }
  }
}
"""
ME = "{ me { user { email } tenant { slug } roles } }"
CURRENT_TENANT = "{ currentTenant { slug } }"


def top_code(body: dict[str, Any]) -> str:
    """The code of a request refused as a whole (a permission, auth, the text guard)."""
    errors = body.get("errors")
    assert isinstance(errors, list) and errors, body
    code = errors[0]["extensions"]["code"]
    assert isinstance(code, str)
    return code


def codes(result: dict[str, Any]) -> list[str]:
    return [error["code"] for error in result["errors"]]


async def audit(tenant_id: TenantId, action: str) -> list[AuditEntry]:
    async with tenant_unit_of_work(tenant_id):
        return await AuditEntry.filter(tenant_id=tenant_id, action=action).order_by("id")


async def audit_count(tenant_id: TenantId) -> int:
    async with tenant_unit_of_work(tenant_id):
        return await AuditEntry.filter(tenant_id=tenant_id).count()


async def invitations(tenant_id: TenantId) -> list[Invitation]:
    async with tenant_unit_of_work(tenant_id):
        return await Invitation.filter(tenant_id=tenant_id).order_by("id")


async def roles(tenant_id: TenantId) -> dict[int, str]:
    async with tenant_unit_of_work(tenant_id):
        return {m.user_id: m.role for m in await Membership.filter(tenant_id=tenant_id)}


async def tenant_row(slug: str) -> Tenant | None:
    async with platform_unit_of_work():
        return await Tenant.filter(slug=slug).first()


async def user_row(email: str) -> User | None:
    async with global_unit_of_work():
        return await User.filter(email=email).first()


async def resets_of(user_id: int) -> list[PasswordReset]:
    async with global_unit_of_work():
        return await PasswordReset.filter(user_id=user_id).order_by("id")


INVITATIONS = """
query($pending: Boolean! = true, $limit: Int, $offset: Int) {
  invitations(pending: $pending, limit: $limit, offset: $offset) {
    total items { id email role acceptedAt revokedAt }
  }
}
"""
REVOKE_INVITATION = """
mutation($id: ID!) {
  revokeInvitation(id: $id) {
    __typename
    ... on InvitationRevoked { invitation { id revokedAt } }
    ... on TenancyErrors { errors { field code message } }
  }
}
"""
