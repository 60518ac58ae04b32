"""Values as Postgres returns them through asyncpg and Tortoise's raw SQL.

asyncpg returns `json`/`jsonb` columns as text unless a codec is installed; Tortoise's raw SQL passes that text on.
One function reads such a column whatever the path (text, or already decoded by the ORM).
"""

from __future__ import annotations

import json
from typing import Any


def json_value(raw: Any) -> Any:
    """A json/jsonb column's value: decoded when it came as text, as it is when something decoded it already."""
    return json.loads(raw) if isinstance(raw, str | bytes | bytearray) else raw
