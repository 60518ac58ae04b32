"""The stored form of a scorecard's metrics and flags (jsonb): exact numbers as strings, never floats.

Pure: the repository writes it, the GraphQL types read simulated scorecards through it (the same shape as stored ones).
"""

from __future__ import annotations

import json

from tenants.rules.scorecard import Scorecard


def metrics_json(card: Scorecard) -> list[dict[str, str | None]]:
    """A scorecard's metrics as stored: exact numbers as strings, never floats."""
    return [
        {
            "key": m.key,
            "label": m.label,
            "value": None if m.value is None else str(m.value),
            "score": None if m.score is None else str(m.score),
            "weight": None if m.weight is None else str(m.weight),
            "explanation": m.explanation,
        }
        for m in card.metrics
    ]


def flags_json(card: Scorecard) -> str:
    return json.dumps(
        [{"rule_key": f.rule_key, "kind": f.kind, "message": f.message} for f in card.flags], ensure_ascii=False
    )
