"""Text the database can store: one definition for every input path (GraphQL arguments, batch items, configs).

Postgres `text` and `jsonb` cannot hold a NUL character, and UTF-8 cannot encode an unpaired UTF-16 surrogate (JSON's
"\\ud800" escape decodes to one in Python). Such text reaching the driver fails a whole statement, hence a whole
batch; checking it where the input enters turns it into a coded problem of the one item or argument that holds it.
"""

from __future__ import annotations

import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]").search
_LONE_SURROGATE = re.compile("[\ud800-\udfff]").search


def is_storable_text(text: str) -> bool:
    """False for a NUL character or a lone surrogate anywhere in `text` (ASCII text is checked for NUL only)."""
    if text.isascii():
        return "\x00" not in text
    return _UNSTORABLE(text) is None


def has_lone_surrogate(text: str) -> bool:
    return not text.isascii() and _LONE_SURROGATE(text) is not None
