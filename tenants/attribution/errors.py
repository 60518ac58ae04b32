"""Expected failures of the attribution domain; the GraphQL layer maps them to `AttributionErrors`.

An invalid rules config is reported whole: one INVALID_CONFIG problem per config problem, its JSON path as `field` and
the precise `AttributionConfigErrorCode` as `detail` (GraphQL `configCode`), like schemes.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from tenants.errors import DomainError, Problem
from tenants.rules.attribution_config import AttributionConfigProblem


class AttributionErrorCode(StrEnum):
    """Stable codes; never rename one."""

    INVALID = "INVALID"  # a plain argument (a date out of range, a range the wrong way round)
    INVALID_CONFIG = "INVALID_CONFIG"  # see the detail (config code) and field (a JSON path in the rules)
    NOT_FOUND = "NOT_FOUND"  # also another tenant's event, and an event outside the manager's teams
    NOT_PENDING = "NOT_PENDING"  # the event does not wait for a confirmation (already counted)
    UNKNOWN_STAFF = "UNKNOWN_STAFF"
    UNKNOWN_TEAM = "UNKNOWN_TEAM"
    INVALID_CREDITS = "INVALID_CREDITS"  # shares not above 0, too precise, a credit naming both or neither target
    SHARES_NOT_1 = "SHARES_NOT_1"


class AttributionError(DomainError[AttributionErrorCode]):
    @classmethod
    def invalid_config(cls, problems: Iterable[AttributionConfigProblem]) -> AttributionError:
        return cls(
            Problem(AttributionErrorCode.INVALID_CONFIG, problem.message, problem.field, detail=problem.code)
            for problem in problems
        )
