"""Problems of a scheme config: the stable codes, the ``ConfigProblem`` and ``SchemeConfigInvalid``, and pass 1.

Problems are ``tenants.errors.Problem``s (``ConfigProblem``): a ``SchemeConfigErrorCode``, a ``Message`` (an English
template with named parameters, rendered in the reader's language at the edge; Chinese in
tenants/locale/zh_Hans/LC_MESSAGES/schemes.po) and the JSON path as ``field``. ``SchemeConfigInvalid`` is the
``DomainError`` carrying them. Pass 1 maps pydantic's errors to our codes and our own message templates (pydantic's
English text cannot be translated, and names classes), with JSON paths such as ``rewards[0].tiers[1].from``.
"""

import json
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from tenants.errors import DomainError, Problem
from tenants.i18n import Message, _
from tenants.rules.config.bounds import MAX_ABS_DECIMAL, MAX_DECIMAL_PLACES
from tenants.rules.config.models import UNION_TAGS


class SchemeConfigErrorCode(StrEnum):
    """Stable problem codes; clients (admin console, GraphQL) branch on these, so never rename one."""

    # structure (pass 1) and input
    INVALID_JSON = "INVALID_JSON"
    INVALID_TYPE = "INVALID_TYPE"
    INVALID_VALUE = "INVALID_VALUE"
    MISSING_FIELD = "MISSING_FIELD"
    UNKNOWN_FIELD = "UNKNOWN_FIELD"
    # keys and references
    INVALID_KEY = "INVALID_KEY"
    DUPLICATE_KEY = "DUPLICATE_KEY"
    UNKNOWN_METRIC = "UNKNOWN_METRIC"
    INVALID_TIMEZONE = "INVALID_TIMEZONE"
    # metrics and scoring
    NO_SCORED_METRIC = "NO_SCORED_METRIC"
    WEIGHTS_NOT_100 = "WEIGHTS_NOT_100"
    WEIGHT_NOT_POSITIVE = "WEIGHT_NOT_POSITIVE"
    MISSING_TARGET = "MISSING_TARGET"
    TARGET_NOT_POSITIVE = "TARGET_NOT_POSITIVE"
    MISSING_EVENTS = "MISSING_EVENTS"
    RATIO_FIELDS = "RATIO_FIELDS"
    RATIO_CYCLE = "RATIO_CYCLE"
    INVALID_FILTER = "INVALID_FILTER"
    CAP_BELOW_1 = "CAP_BELOW_1"
    GRADES_NOT_DESCENDING = "GRADES_NOT_DESCENDING"
    # rewards and penalties
    NEGATIVE_AMOUNT = "NEGATIVE_AMOUNT"
    NEGATIVE_RATE = "NEGATIVE_RATE"
    RATE_TOO_HIGH = "RATE_TOO_HIGH"
    NOT_MONEY_METRIC = "NOT_MONEY_METRIC"
    NOT_ADDITIVE_METRIC = "NOT_ADDITIVE_METRIC"
    FLAT_NEEDS_RATE = "FLAT_NEEDS_RATE"
    TIERS_REQUIRED = "TIERS_REQUIRED"
    TIERS_NOT_ASCENDING = "TIERS_NOT_ASCENDING"
    STEPS_REQUIRED = "STEPS_REQUIRED"
    STEPS_NOT_ASCENDING = "STEPS_NOT_ASCENDING"
    THRESHOLD_AMOUNT_XOR = "THRESHOLD_AMOUNT_XOR"
    # a field that the chosen type/mode ignores: rejected so an admin never believes it applies
    IRRELEVANT_FIELD = "IRRELEVANT_FIELD"
    # bounds (see BOUNDS below): every number, list and string of a config that validates can be closed
    VALUE_OUT_OF_RANGE = "VALUE_OUT_OF_RANGE"
    TOO_MANY_DECIMALS = "TOO_MANY_DECIMALS"  # money has at most 2 decimal places, any other number at most 12
    TOO_MANY_ITEMS = "TOO_MANY_ITEMS"
    TEXT_TOO_LONG = "TEXT_TOO_LONG"
    INVALID_TEXT = "INVALID_TEXT"  # a NUL character or an unpaired surrogate: text Postgres cannot store
    CONFIG_TOO_LARGE = "CONFIG_TOO_LARGE"
    CONFIG_TOO_DEEP = "CONFIG_TOO_DEEP"


Code = SchemeConfigErrorCode


# A config problem: code, message and, as field, the JSON path like "metrics[2].weight" ("" for the config itself).
ConfigProblem = Problem[SchemeConfigErrorCode]


def config_problem(field: str, code: Code, message: Message) -> ConfigProblem:
    return Problem(code, message, field)


class SchemeConfigInvalid(DomainError[SchemeConfigErrorCode]):
    """Every problem of a config that does not validate (``problems``, in the order found)."""

    def __str__(self) -> str:
        summary = "; ".join(
            f"{problem.field or '<root>'}: {problem.code}: {problem.message}" for problem in self.problems
        )
        return f"invalid scheme config ({len(self.problems)} problem(s)): {summary}"


def shown_value(value: object, limit: int = 60) -> str:
    """A value quoted for a message: escaped (repr never carries a NUL or a surrogate) and cut to ``limit``."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}…"


# --- pass 1: pydantic errors -> problems ------------------------------------------------------------------------------

_PYDANTIC_CODES: Final[Mapping[str, Code]] = {
    "missing": Code.MISSING_FIELD,
    "union_tag_not_found": Code.MISSING_FIELD,
    "extra_forbidden": Code.UNKNOWN_FIELD,
    "union_tag_invalid": Code.INVALID_VALUE,
    "decimal_type": Code.INVALID_TYPE,
    "decimal_parsing": Code.INVALID_TYPE,
    "decimal_too_large": Code.VALUE_OUT_OF_RANGE,
    "decimal_too_precise": Code.TOO_MANY_DECIMALS,
    "greater_than": Code.VALUE_OUT_OF_RANGE,
    "greater_than_equal": Code.VALUE_OUT_OF_RANGE,
    "less_than": Code.VALUE_OUT_OF_RANGE,
    "less_than_equal": Code.VALUE_OUT_OF_RANGE,
    "too_long": Code.TOO_MANY_ITEMS,
    "string_too_long": Code.TEXT_TOO_LONG,
}
# pydantic's error for a str it cannot read (an object key with an unpaired surrogate)
_UNREADABLE_TEXT: Final = "string_unicode"


_OBJECT_ERRORS: Final = frozenset({"model_type", "model_attributes_type", "dict_type"})


def code_for_pydantic_error(error_type: str) -> Code:
    # INVALID_TYPE: the wrong kind of JSON value (or text that is not a number); INVALID_VALUE: the right kind but a
    # value that is not allowed (literal choices, ranges, NaN, fractional ints)
    if error_type in _PYDANTIC_CODES:
        return _PYDANTIC_CODES[error_type]
    if error_type.endswith(("_type", "_parsing")):
        return Code.INVALID_TYPE
    return Code.INVALID_VALUE


def structural_problems(error: ValidationError) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for detail in error.errors(include_url=False):
        loc = _strip_union_tags(detail["loc"])
        error_type = detail["type"]
        code = code_for_pydantic_error(error_type)
        if error_type in ("union_tag_not_found", "union_tag_invalid"):
            # reported on the rule itself by pydantic; the offending field is "type"
            loc = (*loc, "type")
        if error_type == _UNREADABLE_TEXT:
            code = Code.INVALID_TEXT
        problems.append(config_problem(json_path(loc), code, _structural_message(detail, loc, code)))
    return problems


_QUOTED: Final = re.compile(r"'[^']*'")


def _structural_message(detail: ErrorDetails, loc: tuple[int | str, ...], code: Code) -> Message:
    """Our own template for each pydantic error (pydantic's English text cannot be translated, and names classes)."""
    error_type = detail["type"]
    ctx: dict[str, Any] = dict(detail.get("ctx") or {})
    if error_type in ("missing", "union_tag_not_found"):
        return _("Field '{name}' is required", name=loc[-1])
    if error_type == "extra_forbidden":
        return _("Unknown field {name}", name=shown_value(loc[-1]))
    if error_type in _OBJECT_ERRORS:
        return _("Expected a JSON object")
    if error_type == "union_tag_invalid":
        return _(
            "Unknown type {type}; expected one of {expected}",
            type=shown_value(ctx.get("tag")),
            expected=ctx.get("expected_tags"),
        )
    if error_type == _UNREADABLE_TEXT:
        return _("Text must not contain unpaired surrogates (they cannot be stored)")
    if error_type == "literal_error":
        # pydantic's "'week', 'month' or 'year'" carries an English "or"; the choices are our own plain literals
        return _("Expected one of {expected}", expected=", ".join(_QUOTED.findall(str(ctx.get("expected", "")))))
    if error_type == "too_long":
        return _(
            "At most {maximum} items are allowed, not {count}",
            maximum=ctx.get("max_length"),
            count=ctx.get("actual_length"),
        )
    if error_type == "string_too_long":
        return _("Use at most {maximum} characters", maximum=ctx.get("max_length"))
    if error_type == "greater_than_equal":
        return _("Must be at least {minimum}", minimum=ctx.get("ge"))
    if error_type == "greater_than":
        return _("Must be above {minimum}", minimum=ctx.get("gt"))
    if error_type == "less_than_equal":
        return _("Must be at most {maximum}", maximum=ctx.get("le"))
    if error_type == "less_than":
        return _("Must be below {maximum}", maximum=ctx.get("lt"))
    if error_type == "string_type":
        return _("Expected a string")
    if error_type in ("int_type", "int_parsing", "int_parsing_size"):
        return _("Expected a whole number")
    if error_type == "int_from_float":
        return _("Expected a whole number, without a fraction")
    if error_type in ("bool_type", "bool_parsing"):
        return _("Expected true or false")
    if error_type == "list_type":
        return _("Expected a list")
    decimal = decimal_message(error_type)
    if decimal is not None:
        return decimal
    return _("This value has the wrong type") if code == Code.INVALID_TYPE else _("This value is not allowed")


def decimal_message(error_type: str) -> Message | None:
    """The message of one of parse_decimal's errors (by its type); None for any other error."""
    if error_type in ("decimal_type", "decimal_parsing"):
        return _("Expected a number or a numeric string")
    if error_type == "decimal_not_finite":
        return _("Expected a finite number (not NaN or Infinity)")
    if error_type == "decimal_too_large":
        return _("Number is too large (at most {digits} integer digits)", digits=MAX_ABS_DECIMAL.adjusted())
    if error_type == "decimal_too_precise":
        return _("Number has more than {places} decimal places", places=MAX_DECIMAL_PLACES)
    return None


def _strip_union_tags(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    # rewards and penalties are lists of tagged unions at the root: pydantic reports
    # ("rewards", 0, "commission", "base"); the JSON path is rewards[0].base
    if len(loc) >= 3 and loc[0] in ("rewards", "penalties") and isinstance(loc[1], int) and loc[2] in UNION_TAGS:
        return (*loc[:2], *loc[3:])
    return loc


_PLAIN_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def _escaped(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_path(loc: tuple[int | str, ...]) -> str:
    """("rewards", 0, "tiers", 1, "from") -> "rewards[0].tiers[1].from"; odd names are quoted: filter["a b"]."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _PLAIN_NAME.match(part):
            path += f".{part}" if path else part
        else:
            # json.dumps escapes NUL; an unpaired surrogate is escaped too, as no UTF-8 answer could carry it
            path += f"[{_SURROGATE.sub(_escaped, json.dumps(part, ensure_ascii=False))}]"
    return path
