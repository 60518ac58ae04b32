"""GraphQL for tenancy (tenants/tenancy/) and accounts (tenants/accounts/): login, tokens, logout, me; tenants
(operators: create with the first owner's invitation, suspend, resume, list); API keys, invitations and members
(tenant admins); passwords (change, reset).

types.py holds the types and their converters from domain records, queries.py and mutations.py the resolvers (they
call tenants.tenancy and tenants.accounts services and AuthService only). Refusals of login and tokens are AuthErrors,
those of tenants, keys, invitations, members and passwords TenancyErrors (AccessErrors for an invitation's teams and
staff record): typed errors of the results' unions implementing Problem (code: the domain's enum, message: in the
reader's locale). Refusals by a permission are top-level errors (schema/permissions.py), among them TENANT_SUSPENDED
and TOKEN_REVOKED from authentication.
"""

from __future__ import annotations

from schema.tenancy.mutations import TenancyMutation
from schema.tenancy.queries import TenancyQuery

__all__ = ["TenancyMutation", "TenancyQuery"]
