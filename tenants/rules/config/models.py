"""Scheme configuration (考核方案配置): the pydantic models of DESIGN.md "Scheme configuration".

docs/config-contract.md is the Python contract the scoring engine is written against, so names here must not change.
The models check shape only (types, required and unknown fields, literals, bounds); meaning (weights, references,
ordering, signs...) is rules/config/validation.py's. Decimals are exact from the JSON text on (``parse_decimal``).
"""

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from tenants.rules.config.bounds import (
    MAX_ABS_DECIMAL,
    MAX_DECIMAL_PLACES,
    MAX_DEMOTION_PERIODS,
    MAX_EVENT_TYPES,
    MAX_GRADE_LENGTH,
    MAX_GRADES,
    MAX_LABEL_LENGTH,
    MAX_METRICS,
    MAX_PARTICIPANT_ROLES,
    MAX_PARTICIPANT_TEAMS,
    MAX_RANK,
    MAX_RANKS,
    MAX_ROLE_LENGTH,
    MAX_RULES,
    MAX_STEPS,
    MAX_TEAM_CODE_LENGTH,
    MAX_TIMEZONE_LENGTH,
)

# --- decimals ---------------------------------------------------------------------------------------------------------


def parse_decimal(value: object) -> Decimal:
    """Convert a JSON number or numeric string to an exact Decimal, never through binary float arithmetic.

    A float is converted through ``repr``, its shortest round-trip text, so JSON 0.03 becomes Decimal("0.03").
    Raises ``PydanticCustomError`` so it can serve directly as a pydantic validator.
    """
    # bool is an int subclass; true/false as money is always a mistake
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise PydanticCustomError("decimal_type", "Input should be a number or a numeric string")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    else:
        text = repr(value) if isinstance(value, float) else value.strip()
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise PydanticCustomError("decimal_parsing", "Input should be a number or a numeric string") from None
    if not number.is_finite():
        raise PydanticCustomError("decimal_not_finite", "Input should be a finite number (not NaN or Infinity)")
    if abs(number) >= MAX_ABS_DECIMAL:
        raise PydanticCustomError("decimal_too_large", "Number is too large (at most 15 integer digits)")
    if decimal_places(number) > MAX_DECIMAL_PLACES:
        raise PydanticCustomError("decimal_too_precise", "Number has more than 12 decimal places")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        # "1e3" would otherwise print as 1E+3 in derivations staff read; same value, plain digits
        number = number.quantize(Decimal(1))
    return number


def decimal_places(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def try_decimal(value: object) -> Decimal | None:
    """The Decimal, or None when the value is absent or malformed (pass 1 reports malformed values)."""
    try:
        return parse_decimal(value)
    except PydanticCustomError:
        return None


ConfigDecimal = Annotated[Decimal, BeforeValidator(parse_decimal)]


# --- models (see docs/config-contract.md) -----------------------------------------------------------------------------

Cycle = Literal["week", "month", "quarter", "year"]
Aggregate = Literal["count", "sum_amount", "sum_value", "avg_value", "count_distinct_customers", "ratio"]

AGGREGATES: Final = frozenset(get_args(Aggregate))
EVENT_AGGREGATES: Final = AGGREGATES - {"ratio"}
# commission is a share of money: of an amount (sum_amount) or of a value that a merchant defines as money (sum_value)
MONEY_AGGREGATES: Final = frozenset({"sum_amount", "sum_value"})
# a team pool sums the metric over members and splits pro rata by it; ratios and averages do not add up
NON_ADDITIVE_AGGREGATES: Final = frozenset({"ratio", "avg_value"})


class _ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Label = Annotated[str, Field(max_length=MAX_LABEL_LENGTH)]
EventTypes = Annotated[list[str], Field(max_length=MAX_EVENT_TYPES)]


class Participants(_ConfigModel):
    # empty = every role
    roles: list[Annotated[str, Field(max_length=MAX_ROLE_LENGTH)]] = Field(default=[], max_length=MAX_PARTICIPANT_ROLES)
    # team external codes (subtree); empty = all teams
    teams: list[Annotated[str, Field(max_length=MAX_TEAM_CODE_LENGTH)]] = Field(
        default=[], max_length=MAX_PARTICIPANT_TEAMS
    )


class Band(_ConfigModel):
    min: ConfigDecimal
    points: ConfigDecimal


class Scoring(_ConfigModel):
    type: Literal["linear", "threshold", "bands"] = "linear"
    cap: ConfigDecimal | None = None  # linear only; None means 1.0, see effective_cap
    direction: Literal["higher", "lower"] = "higher"
    bands: list[Band] = Field(default=[], max_length=MAX_STEPS)

    @property
    def effective_cap(self) -> Decimal:
        return self.cap if self.cap is not None else Decimal(1)


class Metric(_ConfigModel):
    key: str
    label: Label | None = None
    aggregate: Aggregate
    events: EventTypes = []
    filter: dict[str, Any] = {}  # attribute equality, list = any of; key "customer_grade" allowed
    credit: Literal["actor", "credited"] = "actor"
    numerator: str | None = None  # ratio only
    denominator: str | None = None  # ratio only
    target: ConfigDecimal | None = None
    weight: ConfigDecimal | None = None
    scoring: Scoring = Scoring()
    on_empty: Literal["zero", "full"] = "zero"

    @property
    def scored(self) -> bool:
        return self.weight is not None

    @property
    def display_label(self) -> str:
        return self.label or self.key


class GradeBand(_ConfigModel):
    min: ConfigDecimal
    grade: Annotated[str, Field(max_length=MAX_GRADE_LENGTH)]


class Tier(_ConfigModel):
    # "from" is a Python keyword; the JSON name is kept on input and output
    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)

    from_: ConfigDecimal = Field(alias="from")
    rate: ConfigDecimal


class Step(_ConfigModel):
    min: ConfigDecimal
    amount: ConfigDecimal


Steps = Annotated[list[Step], Field(max_length=MAX_STEPS)]


class Gate(_ConfigModel):
    min_score: ConfigDecimal


class RankAmount(_ConfigModel):
    rank: int = Field(ge=1, le=MAX_RANK)
    amount: ConfigDecimal


class _Rule(_ConfigModel):
    key: str
    label: Label | None = None

    @property
    def display_label(self) -> str:
        return self.label or self.key


class CommissionReward(_Rule):
    type: Literal["commission"]
    base: str  # metric key
    mode: Literal["flat", "progressive", "whole"] = "flat"
    rate: ConfigDecimal | None = None  # flat only
    tiers: list[Tier] = Field(default=[], max_length=MAX_STEPS)  # progressive / whole
    gate: Gate | None = None


class LadderReward(_Rule):
    type: Literal["ladder"]
    metric: str
    steps: Steps
    gate: Gate | None = None


class ScoreBonusReward(_Rule):
    type: Literal["score_bonus"]
    base_amount: ConfigDecimal
    cap: ConfigDecimal = Decimal(1)
    gate: Gate | None = None


class RankBonusReward(_Rule):
    type: Literal["rank_bonus"]
    ranks: Annotated[list[RankAmount], Field(max_length=MAX_RANKS)]
    per_team: bool = False
    gate: Gate | None = None


class TeamPoolReward(_Rule):
    type: Literal["team_pool"]
    metric: str
    steps: Steps
    split: Literal["equal", "pro_rata"] = "equal"
    gate: Gate | None = None


Reward = Annotated[
    CommissionReward | LadderReward | ScoreBonusReward | RankBonusReward | TeamPoolReward,
    Field(discriminator="type"),
]


class PerEventPenalty(_Rule):
    type: Literal["per_event"]
    events: EventTypes
    filter: dict[str, Any] = {}
    amount: ConfigDecimal  # positive in the config; the engine posts a negative line


class ThresholdPenalty(_Rule):
    type: Literal["threshold"]
    below_score: ConfigDecimal
    amount: ConfigDecimal | None = None  # exactly one of amount and pct_of_rewards
    pct_of_rewards: ConfigDecimal | None = None  # a fraction 0..1 (0.1 = 10%)


class DemotionPenalty(_Rule):
    type: Literal["demotion"]
    below_score: ConfigDecimal
    periods: int = Field(ge=1, le=MAX_DEMOTION_PERIODS)


Penalty = Annotated[PerEventPenalty | ThresholdPenalty | DemotionPenalty, Field(discriminator="type")]

# pydantic puts the discriminator's value into error locations; these are stripped from JSON paths
UNION_TAGS: Final = frozenset(
    tag
    for model in (
        CommissionReward,
        LadderReward,
        ScoreBonusReward,
        RankBonusReward,
        TeamPoolReward,
        PerEventPenalty,
        ThresholdPenalty,
        DemotionPenalty,
    )
    for tag in get_args(model.model_fields["type"].annotation)
)


class SchemeConfig(_ConfigModel):
    cycle: Cycle
    timezone: Annotated[str, Field(max_length=MAX_TIMEZONE_LENGTH)] = "Asia/Shanghai"
    participants: Participants = Participants()
    metrics: Annotated[list[Metric], Field(max_length=MAX_METRICS)]
    grades: Annotated[list[GradeBand], Field(max_length=MAX_GRADES)] = []
    rewards: Annotated[list[Reward], Field(max_length=MAX_RULES)] = []
    penalties: Annotated[list[Penalty], Field(max_length=MAX_RULES)] = []
    penalty_cap: ConfigDecimal | None = None

    def metric(self, key: str) -> Metric:
        for metric in self.metrics:
            if metric.key == key:
                return metric
        raise KeyError(key)

    @property
    def scored_metrics(self) -> list[Metric]:
        return [metric for metric in self.metrics if metric.scored]
