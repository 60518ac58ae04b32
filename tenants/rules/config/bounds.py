"""Bounds of a scheme config: every list, string and number has one (docs/config-contract.md "Bounds" explains each).

Far beyond what a real merchant configures, and always within what closing needs, so a config that validates can always
be closed and simulated. Identifier rule (metric, reward and penalty keys, event type names): ``^[a-z][a-z0-9_]*$``, at
most 64 characters: they appear in ledger lines, GraphQL and event payloads.
"""

import re
from decimal import Decimal
from typing import Final

IDENTIFIER_PATTERN: Final = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
CUSTOMER_GRADES: Final = frozenset({"A", "B", "C", "D"})

# Bounds on every decimal: NUMERIC-friendly, and they keep absurd inputs such as 1e-999999 out of the engine.
MAX_ABS_DECIMAL: Final = Decimal("1e15")
MAX_DECIMAL_PLACES: Final = 12

# --- BOUNDS ---------------------------------------------------------------------------------------------------------
# Far beyond any real scheme, and always within what closing needs (docs/config-contract.md "Bounds" explains each):
# the close aggregates every metric and per-event penalty as one or two columns of one SQL statement (Postgres allows
# 1664 columns and 32767 bind parameters: 100 metrics x 2 + 50 penalties stays far below, and so does
# (1 + 2 x 20 filter conditions) parameters x 150); totals are NUMERIC(12,4) and ledger lines NUMERIC(16,2).
MAX_METRICS: Final = 100
MAX_RULES: Final = 50  # rewards, and penalties, each
MAX_GRADES: Final = 20
MAX_STEPS: Final = 50  # tiers, steps, bands (each list)
MAX_RANKS: Final = 100  # entries of a rank_bonus
MAX_RANK: Final = 10_000
MAX_EVENT_TYPES: Final = 50  # events of one metric or per_event penalty
MAX_FILTER_CONDITIONS: Final = 20
MAX_FILTER_OPTIONS: Final = 100  # values of one "any of" condition
MAX_PARTICIPANT_ROLES: Final = 50
MAX_PARTICIPANT_TEAMS: Final = 1_000
MAX_DEMOTION_PERIODS: Final = 24
MAX_LABEL_LENGTH: Final = 100
MAX_GRADE_LENGTH: Final = 16  # scorecard.grade
MAX_TIMEZONE_LENGTH: Final = 64
MAX_ROLE_LENGTH: Final = 32  # staff.role
MAX_TEAM_CODE_LENGTH: Final = 64  # team.code
MAX_FILTER_NAME_LENGTH: Final = 64
MAX_FILTER_TEXT_LENGTH: Final = 200
# every configured amount of money (a step, a rank prize, a penalty, a cap): CNY, to the cent
MAX_MONEY: Final = Decimal(10_000_000)
MONEY_DECIMAL_PLACES: Final = 2
# targets and the mins of bands, steps and tiers compare with a period's metric values
MAX_METRIC_THRESHOLD: Final = Decimal(1_000_000_000_000)
MAX_SCORING_CAP: Final = Decimal(10)  # linear scoring and score_bonus caps
# band points, grade mins, gates and below_score are on the score scale: at most MAX_SCORING_CAP x 100 points
MAX_SCORE: Final = MAX_SCORING_CAP * 100
MAX_CONFIG_BYTES: Final = 1024 * 1024  # about: the compact JSON's UTF-8 size
MAX_CONFIG_DEPTH: Final = 16  # nesting of objects and lists; a valid config needs 6
