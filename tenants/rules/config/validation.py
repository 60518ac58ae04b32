"""Validation of a scheme config: every problem of the input in one call; a config with any problem is rejected whole.

Validation runs in two passes over the same input:

1. structural: pydantic (rules/config/models.py), its errors converted to ``ConfigProblem``s (rules/config/errors.py);
2. semantic: cross-field rules (weights, metric references, ordering, signs...), run on the *raw* input defensively,
   so they still report on the parts that are well formed when pass 1 failed elsewhere.

The two passes do not overlap: pass 1 only checks shape, pass 2 only checks meaning and skips any value whose shape is
wrong (pass 1 already reported it).

Before both passes, one iterative walk over the raw JSON refuses a config too large or too deep to handle at all (that
problem alone is reported) and reports every string, value or object key, that Postgres cannot store (a NUL character
or an unpaired surrogate). Every list, string and number has a bound (rules/config/bounds.py and
docs/config-contract.md): so a config that validates can always be closed and simulated; and messages and JSON paths
never carry unstorable or unbounded input text.
"""

import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from tenants.i18n import Message, _
from tenants.rules.config.bounds import (
    CUSTOMER_GRADES,
    IDENTIFIER_PATTERN,
    MAX_CONFIG_BYTES,
    MAX_CONFIG_DEPTH,
    MAX_FILTER_CONDITIONS,
    MAX_FILTER_NAME_LENGTH,
    MAX_FILTER_OPTIONS,
    MAX_FILTER_TEXT_LENGTH,
    MAX_METRIC_THRESHOLD,
    MAX_MONEY,
    MAX_SCORE,
    MAX_SCORING_CAP,
    MAX_TIMEZONE_LENGTH,
    MONEY_DECIMAL_PLACES,
)
from tenants.rules.config.errors import (
    Code,
    ConfigProblem,
    SchemeConfigInvalid,
    code_for_pydantic_error,
    config_problem,
    decimal_message,
    json_path,
    shown_value,
    structural_problems,
)
from tenants.rules.config.models import (
    AGGREGATES,
    EVENT_AGGREGATES,
    MONEY_AGGREGATES,
    NON_ADDITIVE_AGGREGATES,
    SchemeConfig,
    decimal_places,
    parse_decimal,
    try_decimal,
)
from tenants.text import is_storable_text


def validate_scheme_config(raw: object) -> list[ConfigProblem]:
    """Every problem of ``raw`` (a parsed JSON value, or JSON text); [] when it is valid."""
    return _validate(raw)[1]


def parse_scheme_config(raw: object) -> SchemeConfig:
    """The config, or ``SchemeConfigInvalid`` carrying every problem."""
    config, problems = _validate(raw)
    if config is None or problems:
        raise SchemeConfigInvalid(problems)
    return config


def _validate(raw: object) -> tuple[SchemeConfig | None, list[ConfigProblem]]:
    if isinstance(raw, str | bytes | bytearray):
        # whitespace allowance: the parsed value is measured compactly below
        if len(raw) > 2 * MAX_CONFIG_BYTES:
            return None, [_too_large()]
        try:
            # parse_float=Decimal keeps JSON text decimals exact from the first step
            raw = json.loads(raw, parse_float=Decimal)
        except RecursionError:
            return None, [_too_deep()]
        except json.JSONDecodeError as error:
            message = _(
                "The config is not valid JSON: {reason} (line {line}, column {column})",
                reason=error.msg,
                line=error.lineno,
                column=error.colno,
            )
            return None, [config_problem("", Code.INVALID_JSON, message)]
        except ValueError:  # bytes that are not UTF-8 (or UTF-16/32) text
            return None, [config_problem("", Code.INVALID_JSON, _("The config is not JSON text in UTF-8"))]
    fatal, problems = _scan_raw(raw)
    if fatal is not None:
        return None, [fatal]
    config: SchemeConfig | None = None
    try:
        config = SchemeConfig.model_validate(raw)
    except ValidationError as error:
        # pydantic cannot read an object key with a surrogate; INVALID_TEXT already names that key
        problems.extend(p for p in structural_problems(error) if not (problems and p.code == Code.INVALID_TEXT))
    problems.extend(_SemanticChecker().check(raw))
    unique = _first_of_each(problems)
    return (config if not unique else None), unique


def _first_of_each(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    """One problem may be reachable from two checks: keep the first, in order."""
    seen: set[tuple[str | None, Code, str]] = set()
    unique: list[ConfigProblem] = []
    for problem in problems:
        identity = (problem.field, problem.code, str(problem.message))
        if identity not in seen:
            seen.add(identity)
            unique.append(problem)
    return unique


# --- before the passes: size, depth and storable text -----------------------------------------------------------------


def _too_large() -> ConfigProblem:
    message = _("The config is larger than {size} KiB", size=MAX_CONFIG_BYTES // 1024)
    return config_problem("", Code.CONFIG_TOO_LARGE, message)


def _too_deep() -> ConfigProblem:
    return config_problem(
        "", Code.CONFIG_TOO_DEEP, _("The config nests more than {depth} levels deep", depth=MAX_CONFIG_DEPTH)
    )


def _unstorable(loc: tuple[int | str, ...]) -> ConfigProblem:
    message = _("Text must not contain NUL characters or unpaired surrogates (they cannot be stored)")
    return config_problem(json_path(loc), Code.INVALID_TEXT, message)


def _scan_raw(raw: object) -> tuple[ConfigProblem | None, list[ConfigProblem]]:
    """(the problem that stops validation: too large or too deep, or None; INVALID_TEXT problems in document order).

    Iterative, and stops as soon as the config is too large or too deep: nesting nothing else can walk (pydantic,
    json.dumps, the JSONB column) and size that would make every other check slow are refused here first.
    """
    size = 0
    unstorable: list[ConfigProblem] = []
    pending: list[tuple[object, tuple[int | str, ...]]] = [(raw, ())]
    while pending:
        value, loc = pending.pop()
        if isinstance(value, dict | list) and len(loc) >= MAX_CONFIG_DEPTH:
            return _too_deep(), []
        if isinstance(value, dict):
            size += 2
            children: list[tuple[object, tuple[int | str, ...]]] = []
            for key, child in value.items():
                child_loc = (*loc, key)
                if isinstance(key, str):
                    size += _text_size(key) + 2
                    if not is_storable_text(key):
                        unstorable.append(_unstorable(child_loc))
                children.append((child, child_loc))
            pending.extend(reversed(children))
        elif isinstance(value, list):
            size += 2 + len(value)
            pending.extend((value[index], (*loc, index)) for index in reversed(range(len(value))))
        elif isinstance(value, str):
            size += _text_size(value)
            if not is_storable_text(value):
                unstorable.append(_unstorable(loc))
        elif isinstance(value, int):
            # digits from the bit length: str() of a huge int is refused by Python (4300 digits) and slow before that
            size += value.bit_length() * 30103 // 100000 + 2
        elif isinstance(value, float | Decimal):
            size += len(str(value))
        else:
            size += 5  # true, false, null
        if size > MAX_CONFIG_BYTES:
            return _too_large(), []
    return None, unstorable


def _text_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass")) + 2


# --- pass 2: semantic checks on the raw input -------------------------------------------------------------------------


def _as_dict(value: object) -> dict[str, object] | None:
    return value if isinstance(value, dict) else None


def _dict_items(value: object) -> Iterator[tuple[int, dict[str, object]]]:
    """(index, item) for the well-formed items of a list; anything else was reported by pass 1."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield index, item


def _is_filter_scalar(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str | int | Decimal)


class _SemanticChecker:
    def __init__(self) -> None:
        self.problems: list[ConfigProblem] = []
        self.metric_aggregates: dict[str, str | None] = {}  # key -> aggregate (None if malformed)
        # without a metrics list every reference would look unknown: one INVALID_TYPE says it all
        self.metrics_known = False

    def add(self, field: str, code: Code, message: Message) -> None:
        self.problems.append(config_problem(field, code, message))

    def check(self, raw: object) -> list[ConfigProblem]:
        config = _as_dict(raw)
        if config is None:
            return []
        self.check_timezone(config.get("timezone"))
        self.check_metrics(config.get("metrics"))
        self.check_grades(config.get("grades"))
        self.check_rules(config)
        self.check_money(config.get("penalty_cap"), "penalty_cap")
        return self.problems

    # shared helpers

    def check_identifier(self, value: object, field: str, invalid: Callable[[str], Message]) -> None:
        """``invalid`` makes the message from the quoted value (one template per kind of identifier)."""
        if isinstance(value, str) and not IDENTIFIER_PATTERN.match(value):
            self.add(field, Code.INVALID_KEY, invalid(shown_value(value)))

    def check_money(self, value: object, field: str) -> None:
        """An amount paid or deducted: 0..MAX_MONEY, to the cent."""
        amount = try_decimal(value)
        if amount is None:
            return
        if amount < 0:
            self.add(
                field,
                Code.NEGATIVE_AMOUNT,
                _("Amount {amount} must not be negative (penalties are positive too)", amount=amount),
            )
        elif amount > MAX_MONEY:
            message = _("Amount {amount} is above the maximum of {maximum}", amount=amount, maximum=f"{MAX_MONEY:,}")
            self.add(field, Code.VALUE_OUT_OF_RANGE, message)
        if decimal_places(amount) > MONEY_DECIMAL_PLACES:
            message = _("Amount {amount} has more than 2 decimal places (money is to the cent)", amount=amount)
            self.add(field, Code.TOO_MANY_DECIMALS, message)

    def check_range(self, value: object, field: str, low: Decimal, high: Decimal) -> bool:
        """VALUE_OUT_OF_RANGE outside [low, high]; True when the value is a number within it.

        The message names the value by its JSON name (the last part of ``field``): language-neutral, and the full
        path is in ``field``."""
        number = try_decimal(value)
        if number is None:
            return False
        if low <= number <= high:
            return True
        message = _(
            "{name} {value} is outside the allowed range {low} to {high}",
            name=_field_name(field),
            value=number,
            low=f"{low:,}",
            high=f"{high:,}",
        )
        self.add(field, Code.VALUE_OUT_OF_RANGE, message)
        return False

    def check_threshold(self, value: object, field: str) -> bool:
        """A number compared with a period's metric values (target, a band's, step's or tier's min)."""
        return self.check_range(value, field, -MAX_METRIC_THRESHOLD, MAX_METRIC_THRESHOLD)

    def check_score(self, value: object, field: str) -> None:
        """A number on the score scale: band points, grade mins, gates, below_score."""
        self.check_range(value, field, Decimal(0), MAX_SCORE)

    def check_tier_start(self, value: object, field: str) -> None:
        start = try_decimal(value)
        if start is not None and start < 0:
            self.add(field, Code.NEGATIVE_AMOUNT, _("A tier's from {value} must not be negative", value=start))
        elif start is not None:
            self.check_threshold(start, field)

    def check_rate(self, value: object, field: str) -> None:
        rate = try_decimal(value)
        if rate is None:
            return
        if rate < 0:
            self.add(field, Code.NEGATIVE_RATE, _("Rate {rate} must not be negative", rate=rate))
        elif rate > 1:
            self.add(field, Code.RATE_TOO_HIGH, _("Rate {rate} is above 1; rates are fractions (0.05 = 5%)", rate=rate))

    def check_order(self, items: object, list_field: str, key: str, code: Code, *, descending: bool = False) -> None:
        """Each item's ``key`` must be strictly beyond every earlier one (so an item out of place is always flagged)."""
        best: Decimal | None = None
        for index, item in _dict_items(items):
            value = try_decimal(item.get(key))
            if value is None:
                continue
            if best is not None and (value >= best if descending else value <= best):
                params = {"items": _field_name(list_field), "key": key, "value": value, "previous": best}
                message = (
                    _("{items} must be strictly descending by '{key}': {value} is not below {previous}", **params)
                    if descending
                    else _("{items} must be strictly ascending by '{key}': {value} is not above {previous}", **params)
                )
                self.add(f"{list_field}[{index}].{key}", code, message)
            best = value if best is None else (min(best, value) if descending else max(best, value))

    def check_events(self, events: object, field: str) -> None:
        if isinstance(events, list):
            for index, event_type in enumerate(events):
                self.check_identifier(event_type, f"{field}[{index}]", _invalid_event_type)

    def check_filter(self, value: object, field: str) -> None:
        conditions = _as_dict(value)
        if conditions is None:
            return
        if len(conditions) > MAX_FILTER_CONDITIONS:
            message = _(
                "A filter has at most {maximum} conditions, not {count}",
                maximum=MAX_FILTER_CONDITIONS,
                count=len(conditions),
            )
            self.add(field, Code.TOO_MANY_ITEMS, message)
        for name, expected in conditions.items():
            loc = (*_split_path(field), name)
            condition_field = json_path(loc)
            options = expected if isinstance(expected, list) else [expected]
            shown = shown_value(name)
            if not name:
                self.add(condition_field, Code.INVALID_FILTER, _("Filter attribute names must not be empty"))
            elif len(name) > MAX_FILTER_NAME_LENGTH:
                message = _("Filter attribute names have at most {maximum} characters", maximum=MAX_FILTER_NAME_LENGTH)
                self.add(condition_field, Code.TEXT_TOO_LONG, message)
            elif isinstance(expected, list) and not expected:
                message = _("Filter on {name} is an empty list: nothing matches", name=shown)
                self.add(condition_field, Code.INVALID_FILTER, message)
            elif isinstance(expected, list) and len(expected) > MAX_FILTER_OPTIONS:
                message = _(
                    "Filter on {name} lists at most {maximum} values, not {count}",
                    name=shown,
                    maximum=MAX_FILTER_OPTIONS,
                    count=len(expected),
                )
                self.add(condition_field, Code.TOO_MANY_ITEMS, message)
            elif not all(_is_filter_scalar(option) for option in options):
                message = _("Filter on {name} must be a string, number or boolean, or a list of them", name=shown)
                self.add(condition_field, Code.INVALID_FILTER, message)
            elif name == "customer_grade" and not all(option in CUSTOMER_GRADES for option in options):
                self.add(condition_field, Code.INVALID_FILTER, _("customer_grade must be one of A, B, C, D"))
            else:
                for index, option in enumerate(options):
                    option_loc = (*loc, index) if isinstance(expected, list) else loc
                    self.check_filter_option(option, json_path(option_loc))

    def check_filter_option(self, option: object, field: str) -> None:
        if isinstance(option, str):
            if len(option) > MAX_FILTER_TEXT_LENGTH:
                message = _("Filter values have at most {maximum} characters", maximum=MAX_FILTER_TEXT_LENGTH)
                self.add(field, Code.TEXT_TOO_LONG, message)
        elif not isinstance(option, bool):
            # the same bounds as every other number of the config (bool is an int, but no number)
            try:
                parse_decimal(option)
            except PydanticCustomError as error:
                message = decimal_message(error.type) or _("This value is not allowed")
                self.add(field, code_for_pydantic_error(error.type), message)

    def check_metric_reference(self, value: object, field: str) -> str | None:
        """The referenced metric's aggregate when the reference resolves (and the aggregate is well formed)."""
        if not isinstance(value, str) or not self.metrics_known:
            return None
        if value not in self.metric_aggregates:
            self.add(field, Code.UNKNOWN_METRIC, _("No metric has the key {key}", key=shown_value(value)))
            return None
        return self.metric_aggregates[value]

    # root

    def check_timezone(self, value: object) -> None:
        # too long or unstorable: reported by pass 1 or the scan; an unknown zone would only repeat it
        if not isinstance(value, str) or len(value) > MAX_TIMEZONE_LENGTH or not is_storable_text(value):
            return
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            message = _("Unknown time zone {zone}; use an IANA name like Asia/Shanghai", zone=shown_value(value))
            self.add("timezone", Code.INVALID_TIMEZONE, message)

    # metrics

    def check_metrics(self, value: object) -> None:
        if not isinstance(value, list):
            return
        self.metrics_known = True
        metrics = list(_dict_items(value))
        for index, metric in metrics:
            key = metric.get("key")
            self.check_identifier(key, f"metrics[{index}].key", _invalid_metric_key)
            if not isinstance(key, str):
                continue
            if key in self.metric_aggregates:
                message = _("Metric key {key} is used more than once", key=shown_value(key))
                self.add(f"metrics[{index}].key", Code.DUPLICATE_KEY, message)
            else:
                aggregate = metric.get("aggregate")
                self.metric_aggregates[key] = (
                    aggregate if isinstance(aggregate, str) and aggregate in AGGREGATES else None
                )
        for index, metric in metrics:
            self.check_metric(metric, f"metrics[{index}]")
        self.check_weights(metrics)
        self.check_ratio_cycles(metrics)

    def check_metric(self, metric: dict[str, object], path: str) -> None:
        aggregate = metric.get("aggregate")
        events = metric.get("events")
        self.check_events(events, f"{path}.events")
        self.check_filter(metric.get("filter"), f"{path}.filter")
        if aggregate == "ratio":
            for side in ("numerator", "denominator"):
                reference = metric.get(side)
                if reference is None:
                    message = _("A ratio metric needs a {side} (a metric key)", side=side)
                    self.add(f"{path}.{side}", Code.RATIO_FIELDS, message)
                else:
                    self.check_metric_reference(reference, f"{path}.{side}")
            if isinstance(events, list) and events:
                message = _("A ratio metric is computed from two metrics; it takes no events")
                self.add(f"{path}.events", Code.RATIO_FIELDS, message)
            if isinstance(metric.get("filter"), dict) and metric.get("filter"):
                message = _("A ratio metric takes no filter; filter its numerator instead")
                self.add(f"{path}.filter", Code.RATIO_FIELDS, message)
        elif aggregate in EVENT_AGGREGATES:
            if events is None or (isinstance(events, list) and not events):
                message = _("A {aggregate} metric needs at least one event type", aggregate=aggregate)
                self.add(f"{path}.events", Code.MISSING_EVENTS, message)
            for side in ("numerator", "denominator"):
                if metric.get(side) is not None:
                    self.add(f"{path}.{side}", Code.RATIO_FIELDS, _("Only ratio metrics take a {side}", side=side))
        self.check_scoring(metric, path)

    def check_scoring(self, metric: dict[str, object], path: str) -> None:
        scoring = _as_dict(metric.get("scoring")) or {}
        scoring_type = scoring.get("type", "linear")
        scored = metric.get("weight") is not None
        weight = try_decimal(metric.get("weight"))
        if weight is not None and weight <= 0:
            message = _(
                "Weight {weight} must be above 0; leave weight out for a helper (unscored) metric", weight=weight
            )
            self.add(f"{path}.weight", Code.WEIGHT_NOT_POSITIVE, message)
        target_raw = metric.get("target")
        target = try_decimal(target_raw)
        if scored and scoring_type in ("linear", "threshold") and target_raw is None:
            message = _("A scored metric with {scoring} scoring needs a target", scoring=scoring_type)
            self.add(f"{path}.target", Code.MISSING_TARGET, message)
        target_in_range = self.check_threshold(target_raw, f"{path}.target")
        if scoring_type == "linear" and target_in_range and target is not None and target <= 0:
            message = _("Linear scoring divides by the target; {target} <= 0", target=target)
            self.add(f"{path}.target", Code.TARGET_NOT_POSITIVE, message)

        cap_raw = scoring.get("cap")
        if cap_raw is not None:
            if scoring_type != "linear":
                self.add(f"{path}.scoring.cap", Code.IRRELEVANT_FIELD, _("cap only applies to linear scoring"))
            else:
                self.check_cap(cap_raw, f"{path}.scoring.cap", _scoring_cap_below_1)
        bands = scoring.get("bands")
        if scoring_type == "bands":
            if bands is None or (isinstance(bands, list) and not bands):
                self.add(f"{path}.scoring.bands", Code.STEPS_REQUIRED, _("bands scoring needs at least one band"))
            for band_index, band in _dict_items(bands):
                band_path = f"{path}.scoring.bands[{band_index}]"
                self.check_threshold(band.get("min"), f"{band_path}.min")
                self.check_score(band.get("points"), f"{band_path}.points")
            self.check_order(bands, f"{path}.scoring.bands", "min", Code.STEPS_NOT_ASCENDING)
        elif isinstance(bands, list) and bands:
            self.add(f"{path}.scoring.bands", Code.IRRELEVANT_FIELD, _("bands only apply to bands scoring"))

    def check_cap(self, value: object, field: str, below_1: Callable[[Decimal], Message]) -> None:
        """``below_1`` makes the message that says why a cap below 1 is wrong where it is."""
        cap = try_decimal(value)
        if cap is None:
            return
        if cap < 1:
            self.add(field, Code.CAP_BELOW_1, below_1(cap))
        else:
            self.check_range(cap, field, Decimal(1), MAX_SCORING_CAP)

    def check_weights(self, metrics: list[tuple[int, dict[str, object]]]) -> None:
        raw_weights = [metric["weight"] for _index, metric in metrics if metric.get("weight") is not None]
        if not raw_weights:
            self.add("metrics", Code.NO_SCORED_METRIC, _("At least one metric needs a weight"))
            return
        weights = [try_decimal(weight) for weight in raw_weights]
        # a malformed weight is already reported; a sum without it would only add a confusing second problem
        if any(weight is None for weight in weights):
            return
        total = sum((weight for weight in weights if weight is not None), Decimal(0))
        if total != 100:
            message = _("Weights of scored metrics add up to {total}; they must be 100", total=total)
            self.add("metrics", Code.WEIGHTS_NOT_100, message)

    def check_ratio_cycles(self, metrics: list[tuple[int, dict[str, object]]]) -> None:
        # edges: ratio metric key -> [(field of the reference, referenced ratio metric key)]
        edges: dict[str, list[tuple[str, str]]] = {}
        position: dict[str, int] = {}
        for index, metric in metrics:
            key = metric.get("key")
            if metric.get("aggregate") != "ratio" or not isinstance(key, str) or key in edges:
                continue
            position[key] = index
            edges[key] = [
                (f"metrics[{index}].{side}", reference)
                for side in ("numerator", "denominator")
                if isinstance(reference := metric.get(side), str)
            ]
        for cycle_keys, cycle_fields in _find_cycles(edges):
            # report once, on the edge leaving the member that comes first in the config
            first = min(range(len(cycle_keys)), key=lambda member: position[cycle_keys[member]])
            ordered = cycle_keys[first:] + cycle_keys[:first]
            chain = " -> ".join(_key_text(key) for key in [*ordered, ordered[0]])
            self.add(
                cycle_fields[first], Code.RATIO_CYCLE, _("Ratio metrics depend on themselves: {chain}", chain=chain)
            )

    # grades

    def check_grades(self, value: object) -> None:
        seen: set[str] = set()
        for index, band in _dict_items(value):
            grade = band.get("grade")
            if not isinstance(grade, str):
                continue
            if not grade.strip():
                self.add(f"grades[{index}].grade", Code.INVALID_VALUE, _("A grade needs a name"))
            elif grade in seen:
                message = _("Grade {grade} is listed more than once", grade=shown_value(grade))
                self.add(f"grades[{index}].grade", Code.DUPLICATE_KEY, message)
            seen.add(grade)
        for index, band in _dict_items(value):
            self.check_score(band.get("min"), f"grades[{index}].min")
        # grades match first band with total >= min, so only a descending list reaches every band
        self.check_order(value, "grades", "min", Code.GRADES_NOT_DESCENDING, descending=True)

    # rewards and penalties

    def check_rules(self, config: dict[str, object]) -> None:
        seen_keys: set[str] = set()  # rewards and penalties share one key space: ledger lines carry the rule key
        for list_name in ("rewards", "penalties"):
            for index, rule in _dict_items(config.get(list_name)):
                path = f"{list_name}[{index}]"
                key = rule.get("key")
                self.check_identifier(key, f"{path}.key", _invalid_rule_key)
                if isinstance(key, str):
                    if key in seen_keys:
                        message = _("Key {key} is used by another reward or penalty", key=shown_value(key))
                        self.add(f"{path}.key", Code.DUPLICATE_KEY, message)
                    seen_keys.add(key)
                gate = _as_dict(rule.get("gate"))
                if gate is not None:
                    self.check_score(gate.get("min_score"), f"{path}.gate.min_score")
                rule_type = rule.get("type")
                check = _RULE_CHECKS.get((list_name, rule_type)) if isinstance(rule_type, str) else None
                if check is not None:
                    check(self, rule, path)

    def check_commission(self, rule: dict[str, object], path: str) -> None:
        aggregate = self.check_metric_reference(rule.get("base"), f"{path}.base")
        if aggregate is not None and aggregate not in MONEY_AGGREGATES:
            message = _(
                "Commission is paid on a sum_amount or sum_value metric; {metric} is {aggregate}",
                metric=shown_value(rule.get("base")),
                aggregate=aggregate,
            )
            self.add(f"{path}.base", Code.NOT_MONEY_METRIC, message)
        mode = rule.get("mode", "flat")
        rate = rule.get("rate")
        tiers = rule.get("tiers")
        if mode == "flat":
            if rate is None:
                self.add(f"{path}.rate", Code.FLAT_NEEDS_RATE, _("A flat commission needs a rate"))
            if isinstance(tiers, list) and tiers:
                self.add(f"{path}.tiers", Code.IRRELEVANT_FIELD, _("A flat commission uses rate, not tiers"))
        elif mode in ("progressive", "whole"):
            if tiers is None or (isinstance(tiers, list) and not tiers):
                message = _("A {mode} commission needs at least one tier", mode=mode)
                self.add(f"{path}.tiers", Code.TIERS_REQUIRED, message)
            if rate is not None:
                self.add(
                    f"{path}.rate", Code.IRRELEVANT_FIELD, _("A {mode} commission uses tiers, not rate", mode=mode)
                )
        self.check_rate(rate, f"{path}.rate")
        for tier_index, tier in _dict_items(tiers):
            tier_path = f"{path}.tiers[{tier_index}]"
            self.check_tier_start(tier.get("from"), f"{tier_path}.from")
            self.check_rate(tier.get("rate"), f"{tier_path}.rate")
        self.check_order(tiers, f"{path}.tiers", "from", Code.TIERS_NOT_ASCENDING)

    def check_steps(self, rule: dict[str, object], path: str) -> None:
        steps = rule.get("steps")
        if isinstance(steps, list) and not steps:
            self.add(f"{path}.steps", Code.STEPS_REQUIRED, _("At least one step is required"))
        for step_index, step in _dict_items(steps):
            self.check_threshold(step.get("min"), f"{path}.steps[{step_index}].min")
            self.check_money(step.get("amount"), f"{path}.steps[{step_index}].amount")
        self.check_order(steps, f"{path}.steps", "min", Code.STEPS_NOT_ASCENDING)

    def check_ladder(self, rule: dict[str, object], path: str) -> None:
        self.check_metric_reference(rule.get("metric"), f"{path}.metric")
        self.check_steps(rule, path)

    def check_team_pool(self, rule: dict[str, object], path: str) -> None:
        aggregate = self.check_metric_reference(rule.get("metric"), f"{path}.metric")
        if aggregate in NON_ADDITIVE_AGGREGATES:
            message = _(
                "A team pool sums its metric over the team; a {aggregate} metric does not add up", aggregate=aggregate
            )
            self.add(f"{path}.metric", Code.NOT_ADDITIVE_METRIC, message)
        self.check_steps(rule, path)

    def check_score_bonus(self, rule: dict[str, object], path: str) -> None:
        self.check_money(rule.get("base_amount"), f"{path}.base_amount")
        self.check_cap(rule.get("cap"), f"{path}.cap", _bonus_cap_below_1)

    def check_rank_bonus(self, rule: dict[str, object], path: str) -> None:
        ranks = rule.get("ranks")
        if isinstance(ranks, list) and not ranks:
            self.add(f"{path}.ranks", Code.STEPS_REQUIRED, _("At least one rank is required"))
        for rank_index, rank in _dict_items(ranks):
            self.check_money(rank.get("amount"), f"{path}.ranks[{rank_index}].amount")
        self.check_order(ranks, f"{path}.ranks", "rank", Code.STEPS_NOT_ASCENDING)

    def check_per_event(self, rule: dict[str, object], path: str) -> None:
        events = rule.get("events")
        if isinstance(events, list) and not events:
            self.add(f"{path}.events", Code.MISSING_EVENTS, _("A per_event penalty needs at least one event type"))
        self.check_events(events, f"{path}.events")
        self.check_filter(rule.get("filter"), f"{path}.filter")
        self.check_money(rule.get("amount"), f"{path}.amount")

    def check_threshold_penalty(self, rule: dict[str, object], path: str) -> None:
        has_amount = rule.get("amount") is not None
        has_pct = rule.get("pct_of_rewards") is not None
        if has_amount == has_pct:
            message = _("A threshold penalty needs exactly one of amount and pct_of_rewards")
            self.add(path, Code.THRESHOLD_AMOUNT_XOR, message)
        self.check_score(rule.get("below_score"), f"{path}.below_score")
        self.check_money(rule.get("amount"), f"{path}.amount")
        self.check_rate(rule.get("pct_of_rewards"), f"{path}.pct_of_rewards")

    def check_demotion(self, rule: dict[str, object], path: str) -> None:
        # periods is bounded by pass 1
        self.check_score(rule.get("below_score"), f"{path}.below_score")


_RULE_CHECKS: Final[Mapping[tuple[str, str], Callable[[_SemanticChecker, dict[str, object], str], None]]] = {
    ("rewards", "commission"): _SemanticChecker.check_commission,
    ("rewards", "ladder"): _SemanticChecker.check_ladder,
    ("rewards", "team_pool"): _SemanticChecker.check_team_pool,
    ("rewards", "score_bonus"): _SemanticChecker.check_score_bonus,
    ("rewards", "rank_bonus"): _SemanticChecker.check_rank_bonus,
    ("penalties", "per_event"): _SemanticChecker.check_per_event,
    ("penalties", "threshold"): _SemanticChecker.check_threshold_penalty,
    ("penalties", "demotion"): _SemanticChecker.check_demotion,
}


def _invalid_metric_key(key: str) -> Message:
    return _(
        "Metric key {key} must start with a lowercase letter and contain only a-z, 0-9 and _ (at most 64 characters)",
        key=key,
    )


def _invalid_rule_key(key: str) -> Message:
    return _(
        "Rule key {key} must start with a lowercase letter and contain only a-z, 0-9 and _ (at most 64 characters)",
        key=key,
    )


def _invalid_event_type(key: str) -> Message:
    return _(
        "Event type {key} must start with a lowercase letter and contain only a-z, 0-9 and _ (at most 64 characters)",
        key=key,
    )


def _scoring_cap_below_1(cap: Decimal) -> Message:
    return _("cap {cap} is below 1: meeting the target must pay 100", cap=cap)


def _bonus_cap_below_1(cap: Decimal) -> Message:
    return _("cap {cap} is below 1: a total of 100 must pay base_amount", cap=cap)


def _field_name(path: str) -> str:
    """The last name of a JSON path ("rewards[0].tiers" -> "tiers"): how a message names the value it is about."""
    names = [part for part in _split_path(path) if isinstance(part, str)]
    return names[-1] if names else path


def _key_text(key: str) -> str:
    """A key as a message shows it: as is when it is a valid identifier, else quoted and escaped."""
    return key if IDENTIFIER_PATTERN.match(key) else shown_value(key)


def _split_path(path: str) -> tuple[int | str, ...]:
    """Inverse of json_path for the plain paths built in this module ("metrics[0].filter")."""
    parts: list[int | str] = []
    for name, index in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]", path):
        parts.append(int(index) if index else name)
    return tuple(parts)


def _find_cycles(edges: Mapping[str, list[tuple[str, str]]]) -> list[tuple[list[str], list[str]]]:
    """Cycles of the graph as (member keys, field of the edge leaving each member); each member set reported once.

    Iterative depth-first search, so a long chain of ratio metrics cannot exhaust the recursion limit.
    """
    on_path, done = 1, 2
    state: dict[str, int] = {}
    found: list[tuple[list[str], list[str]]] = []
    seen_members: set[frozenset[str]] = set()
    for start in edges:
        if start in state:
            continue
        path_keys = [start]
        path_fields: list[str] = []  # path_fields[i] leads from path_keys[i] to path_keys[i + 1]
        pending = [iter(edges[start])]
        state[start] = on_path
        while pending:
            step = next(pending[-1], None)
            if step is None:
                state[path_keys.pop()] = done
                pending.pop()
                if path_fields:
                    path_fields.pop()
                continue
            field, target = step
            if target not in edges:  # non-ratio metrics end every chain
                continue
            if state.get(target) == on_path:
                begin = path_keys.index(target)
                members = path_keys[begin:]
                if frozenset(members) not in seen_members:
                    seen_members.add(frozenset(members))
                    found.append((members, [*path_fields[begin:], field]))
            elif target not in state:
                state[target] = on_path
                path_keys.append(target)
                path_fields.append(field)
                pending.append(iter(edges[target]))
    return found
