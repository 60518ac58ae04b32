"""GraphQL for attribution (tenants/attribution/): the rules and their versions, orders waiting for a manager,
confirmation, reattribution.

types.py: the output types, inputs, results and errors; queries.py: AttributionQuery; mutations.py:
AttributionMutation. Permissions: reading the rules needs a manager, pending orders any member (scoped: a manager sees
their teams' orders, staff their own), confirming a manager (in scope), saving rules and reattributing an admin.
"""

from __future__ import annotations

from schema.attribution.mutations import AttributionMutation
from schema.attribution.queries import AttributionQuery

__all__ = ["AttributionMutation", "AttributionQuery"]
