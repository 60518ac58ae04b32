"""GraphQL for master data (tenants/staff/): bulk upserts of teams, staff and customers keyed by external codes, and
their listings. types.py: inputs, results, records and the item error; queries.py: StaffQuery; mutations.py:
StaffMutation."""

from __future__ import annotations

from schema.staff.mutations import StaffMutation
from schema.staff.queries import StaffQuery

__all__ = ["StaffMutation", "StaffQuery"]
