"""Expected failures of access changes (linking logins to staff records, a member's teams), in the one error model.

Codes are a public contract (clients branch on them): never renamed, new ones added. Another tenant's user, staff
member or team is UNKNOWN_*, exactly like one that does not exist (never "forbidden").
"""

from __future__ import annotations

from enum import StrEnum

from tenants.errors import DomainError


class AccessErrorCode(StrEnum):
    # The user id names no member of this tenant (garbage, another tenant's user, a removed member).
    UNKNOWN_USER = "UNKNOWN_USER"
    # No staff member of this tenant has the code.
    UNKNOWN_STAFF = "UNKNOWN_STAFF"
    # A team code of the list names no team of this tenant (`index` is its position in the list).
    UNKNOWN_TEAM = "UNKNOWN_TEAM"
    # The staff member already has another login: unlink it first (one login per staff member).
    STAFF_ALREADY_LINKED = "STAFF_ALREADY_LINKED"
    # The login is already linked to another staff member: unlink it first (one staff record per login).
    USER_ALREADY_LINKED = "USER_ALREADY_LINKED"
    # Unlinking a staff member who has no login.
    NOT_LINKED = "NOT_LINKED"
    # More team codes than MAX_MANAGED_TEAMS (the subtree of each is in scope: a few roots are enough).
    TOO_MANY_TEAMS = "TOO_MANY_TEAMS"


class AccessError(DomainError[AccessErrorCode]):
    """A refused access change; nothing was changed."""
