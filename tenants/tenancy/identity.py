"""The typed tenant id and the only places that may produce one.

A `TenantId` means "this caller was checked against this tenant": the functions below are the only constructors
(a test fails if `TenantId(` appears anywhere else). Services take a TenantId, never a bare int, so tenant data can
only be reached after authentication or by a job that carries an id enqueued by such code.
"""

from __future__ import annotations

from typing import NewType

TenantId = NewType("TenantId", int)


def tenant_id_from_membership(tenant_id: int) -> TenantId:
    """Called by auth after it found the caller's membership in that tenant (or an API key of it)."""
    return TenantId(tenant_id)


def tenant_id_for_system(tenant_id: int) -> TenantId:
    """Trusted system callers: the CLI run by an operator, worker jobs (ids enqueued by authenticated code), seeds."""
    return TenantId(tenant_id)


def tenant_id_for_operator(tenant_id: int) -> TenantId:
    """A platform operator acting on a tenant as a whole (create it, suspend or resume it): its audit log and its
    first invitation, never the tenant's business data."""
    return TenantId(tenant_id)


def tenant_id_from_invitation(tenant_id: int) -> TenantId:
    """The tenant of an invitation found by its token's hash: holding the token is the caller's right to accept it."""
    return TenantId(tenant_id)
