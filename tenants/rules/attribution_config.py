"""A tenant's attribution rules as a validated config (DESIGN.md "Attribution and service rules"): pure.

```json
{"exclusive_guide": {"protection_days": 30},
 "o2o": {"when": {"channel": "offline", "lead": "online"},
         "splits": [{"role": "operations", "staff_attribute": "operator", "share": "0.3"},
                    {"role": "customer_service", "staff_attribute": "service", "share": "0.7"}]},
 "large_order_threshold": "50000.00",
 "create_unknown_customers": true}
```

Invariant: a config that validates can be applied to any event (every share is storable in numeric(9,6) and the
shares of the O2O split add up to exactly 1; the threshold is money an order can hold), and an invalid one is
rejected whole with EVERY problem at once, each with its JSON path (`field`) and a stable code, like scheme configs
(tenants/rules/config/). Pass 1 is pydantic (shape, via the scheme config's error mapping, so messages are shared);
pass 2 checks meaning on the raw input, skipping what pass 1 reported. Text that Postgres cannot store (NUL, unpaired
surrogates) and configs too large or deep are refused before both passes.
"""

from __future__ import annotations

import json
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tenants.errors import DomainError, Problem
from tenants.i18n import Message, _
from tenants.rules.config.errors import json_path, shown_value, structural_problems
from tenants.rules.config.models import ConfigDecimal, decimal_places, try_decimal
from tenants.text import is_storable_text

# Bounds: far beyond a real merchant's rules, within what storing an event's credits needs.
MAX_PROTECTION_DAYS: Final = 36_500  # 100 years: "bound for good"
MAX_CONDITIONS: Final = 20  # attributes that mark an order as moved offline
MAX_SPLITS: Final = 10  # roles sharing an O2O order
MAX_ATTRIBUTE_LENGTH: Final = 64
MAX_ATTRIBUTE_VALUE_LENGTH: Final = 200
MAX_ROLE_LENGTH: Final = 32  # staff.role
SHARE_DECIMALS: Final = 6  # event.credit_shares numeric(9,6)
MONEY_DECIMALS: Final = 2
MAX_THRESHOLD: Final = Decimal("100000000000000")  # event.amount numeric(16,2), exclusive
MAX_CONFIG_BYTES: Final = 64 * 1024
MAX_CONFIG_DEPTH: Final = 8  # a valid config needs 4
ONE: Final = Decimal(1)


class AttributionConfigErrorCode(StrEnum):
    """Stable problem codes of an attribution config; clients branch on these, so never rename one. The structural
    ones have the names (and messages) of the scheme config's."""

    INVALID_JSON = "INVALID_JSON"
    INVALID_TYPE = "INVALID_TYPE"
    INVALID_VALUE = "INVALID_VALUE"
    MISSING_FIELD = "MISSING_FIELD"
    UNKNOWN_FIELD = "UNKNOWN_FIELD"
    INVALID_TEXT = "INVALID_TEXT"
    TEXT_TOO_LONG = "TEXT_TOO_LONG"
    TOO_MANY_ITEMS = "TOO_MANY_ITEMS"
    VALUE_OUT_OF_RANGE = "VALUE_OUT_OF_RANGE"
    TOO_MANY_DECIMALS = "TOO_MANY_DECIMALS"
    CONFIG_TOO_LARGE = "CONFIG_TOO_LARGE"
    CONFIG_TOO_DEEP = "CONFIG_TOO_DEEP"
    # meaning
    CONDITIONS_REQUIRED = "CONDITIONS_REQUIRED"  # an O2O rule that marks no order
    SPLITS_REQUIRED = "SPLITS_REQUIRED"  # an O2O rule that credits nobody
    SHARES_NOT_1 = "SHARES_NOT_1"
    SHARE_NOT_POSITIVE = "SHARE_NOT_POSITIVE"
    DUPLICATE_ATTRIBUTE = "DUPLICATE_ATTRIBUTE"  # two splits name their staff with the same attribute
    ATTRIBUTE_IS_CONDITION = "ATTRIBUTE_IS_CONDITION"  # an attribute both marks the order and names a staff member
    EMPTY_TEXT = "EMPTY_TEXT"
    THRESHOLD_NOT_POSITIVE = "THRESHOLD_NOT_POSITIVE"


Code = AttributionConfigErrorCode
AttributionConfigProblem = Problem[AttributionConfigErrorCode]


class AttributionConfigInvalid(DomainError[AttributionConfigErrorCode]):
    """Every problem of an attribution config that does not validate."""


# --- models (shape only; meaning is pass 2's) ------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


AttributeName = Annotated[str, Field(max_length=MAX_ATTRIBUTE_LENGTH)]


class ExclusiveGuideRule(_Model):
    # Orders of a bound customer go to the guide during [bound_since, bound_since + protection_days).
    protection_days: int = Field(default=MAX_PROTECTION_DAYS, ge=1, le=MAX_PROTECTION_DAYS)


class O2OSplit(_Model):
    role: Annotated[str, Field(max_length=MAX_ROLE_LENGTH)] | None = None  # a label: which role this share pays
    staff_attribute: AttributeName  # the order attribute holding that staff member's code
    share: ConfigDecimal


class O2ORule(_Model):
    # Every condition must hold: attribute -> the exact text it carries on an order moved offline.
    when: Annotated[
        dict[AttributeName, Annotated[str, Field(max_length=MAX_ATTRIBUTE_VALUE_LENGTH)]],
        Field(max_length=MAX_CONDITIONS),
    ]
    splits: Annotated[list[O2OSplit], Field(max_length=MAX_SPLITS)]


class AttributionConfig(_Model):
    exclusive_guide: ExclusiveGuideRule | None = None
    o2o: O2ORule | None = None
    large_order_threshold: ConfigDecimal | None = None
    # Strict: "yes" or 1 is a mistake to report, not a truth to guess.
    create_unknown_customers: Annotated[bool, Field(strict=True)] = True


# --- validation ------------------------------------------------------------------------------------------------------


def validate_attribution_config(raw: object) -> list[AttributionConfigProblem]:
    """Every problem of `raw` (a parsed JSON value, or JSON text); [] when it is valid."""
    return _validate(raw)[1]


def parse_attribution_config(raw: object) -> AttributionConfig:
    """The config, or `AttributionConfigInvalid` carrying every problem."""
    config, problems = _validate(raw)
    if config is None or problems:
        raise AttributionConfigInvalid(problems)
    return config


def stored_form(config: AttributionConfig) -> dict[str, Any]:
    """The JSON object stored for a valid config: defaults written out, decimals as exact strings."""
    return config.model_dump(mode="json")


def _problem(field: str, code: Code, message: Message) -> AttributionConfigProblem:
    return Problem(code, message, field)


def _validate(raw: object) -> tuple[AttributionConfig | None, list[AttributionConfigProblem]]:
    if isinstance(raw, str | bytes | bytearray):
        if len(raw) > 2 * MAX_CONFIG_BYTES:
            return None, [_too_large()]
        try:
            raw = json.loads(raw, parse_float=Decimal)
        except RecursionError:
            return None, [_too_deep()]
        except ValueError:
            return None, [_problem("", Code.INVALID_JSON, _("The config is not JSON text in UTF-8"))]
    fatal, problems = _scan(raw)
    if fatal is not None:
        return None, [fatal]
    config: AttributionConfig | None = None
    try:
        config = AttributionConfig.model_validate(raw)
    except ValidationError as error:
        for structural in structural_problems(error):
            if problems and structural.code == "INVALID_TEXT":
                continue  # the scan named that key already
            problems.append(Problem(Code(structural.code.value), structural.message, structural.field))
    problems.extend(_semantic_problems(raw))
    unique: list[AttributionConfigProblem] = []
    seen: set[tuple[str | None, Code]] = set()
    for problem in problems:
        if (problem.field, problem.code) not in seen:
            seen.add((problem.field, problem.code))
            unique.append(problem)
    return (config if not unique else None), unique


def _too_large() -> AttributionConfigProblem:
    return _problem("", Code.CONFIG_TOO_LARGE, _("The config is larger than {size} KiB", size=MAX_CONFIG_BYTES // 1024))


def _too_deep() -> AttributionConfigProblem:
    return _problem(
        "", Code.CONFIG_TOO_DEEP, _("The config nests more than {depth} levels deep", depth=MAX_CONFIG_DEPTH)
    )


def _scan(raw: object) -> tuple[AttributionConfigProblem | None, list[AttributionConfigProblem]]:
    """(too large or too deep: the only problem then; INVALID_TEXT problems). Iterative: any nesting is safe."""
    size = 0
    unstorable: list[AttributionConfigProblem] = []
    pending: list[tuple[object, tuple[int | str, ...]]] = [(raw, ())]
    message = _("Text must not contain NUL characters or unpaired surrogates (they cannot be stored)")
    while pending:
        value, loc = pending.pop()
        if isinstance(value, dict | list) and len(loc) >= MAX_CONFIG_DEPTH:
            return _too_deep(), []
        if isinstance(value, dict):
            for key, child in value.items():
                size += len(str(key)) + 4
                if isinstance(key, str) and not is_storable_text(key):
                    unstorable.append(_problem(json_path((*loc, key)), Code.INVALID_TEXT, message))
                pending.append((child, (*loc, key)))
        elif isinstance(value, list):
            size += 2 + len(value)
            pending.extend((item, (*loc, index)) for index, item in enumerate(value))
        elif isinstance(value, str):
            size += len(value) + 2
            if not is_storable_text(value):
                unstorable.append(_problem(json_path(loc), Code.INVALID_TEXT, message))
        elif isinstance(value, int) and not isinstance(value, bool):
            size += value.bit_length() // 3 + 2  # str() of a huge int is refused by Python: estimate its digits
        else:
            size += 8
        if size > MAX_CONFIG_BYTES:
            return _too_large(), []
    unstorable.sort(key=lambda problem: problem.field or "")
    return None, unstorable


def _semantic_problems(raw: object) -> list[AttributionConfigProblem]:
    problems: list[AttributionConfigProblem] = []
    if not isinstance(raw, dict):
        return problems
    threshold = try_decimal(raw.get("large_order_threshold"))
    if threshold is not None:
        field = "large_order_threshold"
        if threshold <= 0:
            message = _("The large-order threshold {amount} must be above 0", amount=threshold)
            problems.append(_problem(field, Code.THRESHOLD_NOT_POSITIVE, message))
        elif threshold >= MAX_THRESHOLD:
            message = _("The large-order threshold must be below {maximum}", maximum=f"{MAX_THRESHOLD:,}")
            problems.append(_problem(field, Code.VALUE_OUT_OF_RANGE, message))
        if decimal_places(threshold) > MONEY_DECIMALS:
            message = _("Amount {amount} has more than 2 decimal places (money is to the cent)", amount=threshold)
            problems.append(_problem(field, Code.TOO_MANY_DECIMALS, message))
    o2o = raw.get("o2o")
    if isinstance(o2o, dict):
        problems.extend(_o2o_problems(o2o))
    return problems


def _o2o_problems(o2o: dict[str, object]) -> list[AttributionConfigProblem]:
    problems: list[AttributionConfigProblem] = []
    when = o2o.get("when")
    conditions: set[str] = set()
    if isinstance(when, dict):
        if not when:
            message = _("Name at least one attribute that marks an order as moved offline")
            problems.append(_problem("o2o.when", Code.CONDITIONS_REQUIRED, message))
        for name, value in when.items():
            if isinstance(name, str):
                conditions.add(name)
                if not name.strip():
                    problems.append(_problem(json_path(("o2o", "when", name)), Code.EMPTY_TEXT, _EMPTY_ATTRIBUTE))
            if isinstance(value, str) and not value:
                message = _("The value an attribute must have may not be empty")
                problems.append(_problem(json_path(("o2o", "when", name)), Code.EMPTY_TEXT, message))
    splits = o2o.get("splits")
    if not isinstance(splits, list):
        return problems
    if not splits:
        message = _("Name at least one split: the attribute naming a staff member, and their share")
        problems.append(_problem("o2o.splits", Code.SPLITS_REQUIRED, message))
        return problems
    total = Decimal(0)
    shares_known = True
    named: dict[str, int] = {}
    for index, split in enumerate(splits):
        if not isinstance(split, dict):
            shares_known = False
            continue
        path = f"o2o.splits[{index}]"
        attribute = split.get("staff_attribute")
        if isinstance(attribute, str):
            if not attribute.strip():
                problems.append(_problem(f"{path}.staff_attribute", Code.EMPTY_TEXT, _EMPTY_ATTRIBUTE))
            elif attribute in named:
                message = _(
                    "Attribute {attribute} already names the staff of split {other}",
                    attribute=shown_value(attribute),
                    other=named[attribute],
                )
                problems.append(_problem(f"{path}.staff_attribute", Code.DUPLICATE_ATTRIBUTE, message))
            else:
                named[attribute] = index
            if attribute in conditions:
                message = _(
                    "Attribute {attribute} marks the order as moved offline; it cannot also name a staff member",
                    attribute=shown_value(attribute),
                )
                problems.append(_problem(f"{path}.staff_attribute", Code.ATTRIBUTE_IS_CONDITION, message))
        share = try_decimal(split.get("share"))
        if share is None:
            shares_known = False
            continue
        field = f"{path}.share"
        if share <= 0:
            problems.append(_problem(field, Code.SHARE_NOT_POSITIVE, _("Share {share} must be above 0", share=share)))
        elif share > ONE:
            message = _("Share {share} is above 1; shares are fractions (0.3 = 30%)", share=share)
            problems.append(_problem(field, Code.VALUE_OUT_OF_RANGE, message))
        if decimal_places(share) > SHARE_DECIMALS:
            message = _("Share {share} has more than {places} decimal places", share=share, places=SHARE_DECIMALS)
            problems.append(_problem(field, Code.TOO_MANY_DECIMALS, message))
        total += share
    if shares_known and total != ONE:
        message = _("The shares add up to {total}, not 1", total=total)
        problems.append(_problem("o2o.splits", Code.SHARES_NOT_1, message))
    return problems


_EMPTY_ATTRIBUTE = _("An attribute name may not be empty")


# --- the stored form of the tenant settings that came before (migration 0015 moves them into a first version) --------


def config_from_legacy_settings(settings: object) -> dict[str, Any] | None:
    """The config equivalent to `tenant.settings` as ingestion read them before versions existed; None when the
    settings hold no attribution rule (the tenant had none)."""
    if not isinstance(settings, dict):
        return None
    attribution = settings.get("attribution") or {}
    if not isinstance(attribution, dict):
        attribution = {}
    config: dict[str, Any] = {}
    guide = attribution.get("exclusive_guide")
    if isinstance(guide, dict) and guide:
        days = guide.get("protection_days", MAX_PROTECTION_DAYS)
        config["exclusive_guide"] = {"protection_days": days}
    o2o = attribution.get("o2o")
    if isinstance(o2o, dict) and o2o.get("splits") and o2o.get("attribute") is not None:
        config["o2o"] = {
            "when": {str(o2o["attribute"]): str(o2o.get("value"))},
            "splits": [
                {"staff_attribute": split.get("staff_attribute"), "share": str(split.get("share"))}
                if isinstance(split, dict)
                else split
                for split in o2o["splits"]
            ],
        }
    threshold = settings.get("large_order_threshold")
    if threshold is not None:
        config["large_order_threshold"] = str(threshold)
    if "create_unknown_customers" in settings:
        config["create_unknown_customers"] = settings["create_unknown_customers"]
    return config or None
