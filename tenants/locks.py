"""Advisory lock keys shared by domains.

The ingestion lock orders events against closes: every ingestion transaction takes it SHARED before inserting
events; a close takes it EXCLUSIVE for its whole transaction. So no event can commit between a close's aggregation
and its watermark (the highest event id it saw), and an event committed after the close always has an id above the
watermark and finds the period closed (and marks it stale).
"""

from __future__ import annotations

import hashlib


def advisory_key(*parts: object) -> int:
    """A stable signed 64-bit key for pg_advisory_xact_lock."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def ingestion_lock_key(tenant_id: int) -> int:
    return advisory_key("ingest", tenant_id)
