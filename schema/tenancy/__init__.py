"""GraphQL for tenancy (tenants/tenancy/): login, tokens, me, tenants (operator), API keys.

types.py holds the types and their converters from domain records, queries.py and mutations.py the resolvers (they
call tenants.tenancy services and AuthService only). Refusals of login and tokens are AuthErrors, those of tenants and
keys TenancyErrors: typed errors of the results' unions implementing Problem (code: the domain's enum, message: in
the reader's locale). Refusals by a permission are top-level errors (schema/permissions.py).
"""

from __future__ import annotations

from schema.tenancy.mutations import TenancyMutation
from schema.tenancy.queries import TenancyQuery

__all__ = ["TenancyMutation", "TenancyQuery"]
