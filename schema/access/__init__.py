"""GraphQL of access (issue 8 item 5): who am I (myAccess), staff logins linked to staff records, managers' teams."""

from schema.access.mutations import AccessMutation
from schema.access.queries import AccessQuery

__all__ = ["AccessMutation", "AccessQuery"]
