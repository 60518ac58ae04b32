"""Scheme configuration (考核方案配置): models, validation and problems, as one public surface.

models.py: the pydantic models of DESIGN.md "Scheme configuration" (docs/config-contract.md is their contract);
bounds.py: every limit a config must keep; errors.py: the stable codes, ``ConfigProblem``, ``SchemeConfigInvalid`` and
the mapping of pydantic's errors; validation.py: ``validate_scheme_config`` / ``parse_scheme_config``, every problem in
one call. Callers import from here.
"""

from tenants.rules.config.errors import ConfigProblem, SchemeConfigErrorCode, SchemeConfigInvalid, json_path
from tenants.rules.config.models import (
    Aggregate,
    Band,
    CommissionReward,
    ConfigDecimal,
    Cycle,
    DemotionPenalty,
    Gate,
    GradeBand,
    LadderReward,
    Metric,
    Participants,
    Penalty,
    PerEventPenalty,
    RankAmount,
    RankBonusReward,
    Reward,
    SchemeConfig,
    ScoreBonusReward,
    Scoring,
    Step,
    TeamPoolReward,
    ThresholdPenalty,
    Tier,
    parse_decimal,
)
from tenants.rules.config.validation import parse_scheme_config, validate_scheme_config

__all__ = [
    "Aggregate",
    "Band",
    "CommissionReward",
    "ConfigDecimal",
    "ConfigProblem",
    "Cycle",
    "DemotionPenalty",
    "Gate",
    "GradeBand",
    "LadderReward",
    "Metric",
    "Participants",
    "Penalty",
    "PerEventPenalty",
    "RankAmount",
    "RankBonusReward",
    "Reward",
    "SchemeConfig",
    "SchemeConfigErrorCode",
    "SchemeConfigInvalid",
    "ScoreBonusReward",
    "Scoring",
    "Step",
    "TeamPoolReward",
    "ThresholdPenalty",
    "Tier",
    "json_path",
    "parse_decimal",
    "parse_scheme_config",
    "validate_scheme_config",
]
