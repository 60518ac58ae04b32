"""The attribution rules config (tenants/rules/attribution_config.py): every problem at once, each with its JSON path
and a stable code; hostile input is a coded problem, never a crash. Pure: no database."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tenants.i18n import Message
from tenants.rules.attribution import AttributionRules, RulesTimeline
from tenants.rules.attribution_config import (
    AttributionConfigInvalid,
    config_from_legacy_settings,
    parse_attribution_config,
    stored_form,
    validate_attribution_config,
)

VALID: dict[str, Any] = {
    "exclusive_guide": {"protection_days": 30},
    "o2o": {
        "when": {"channel": "offline", "lead": "online"},
        "splits": [
            {"role": "operations", "staff_attribute": "operator", "share": "0.3"},
            {"role": "customer_service", "staff_attribute": "service", "share": "0.7"},
        ],
    },
    "large_order_threshold": "50000.00",
    "create_unknown_customers": False,
}


def problems(raw: object) -> list[tuple[str | None, str]]:
    return [(problem.field, problem.code.value) for problem in validate_attribution_config(raw)]


def test_a_valid_config_parses_and_is_stored_with_its_defaults() -> None:
    assert problems(VALID) == []
    config = parse_attribution_config(VALID)
    assert stored_form(config) == {
        **VALID,
        "o2o": {
            "when": VALID["o2o"]["when"],
            "splits": [{**split} for split in VALID["o2o"]["splits"]],
        },
    }
    rules = AttributionRules.from_config(config)
    assert rules.o2o_when == (("channel", "offline"), ("lead", "online"))
    assert rules.o2o_splits == (("operator", Decimal("0.3")), ("service", Decimal("0.7")))
    assert (rules.exclusive_guide_days, rules.large_order_threshold) == (30, Decimal("50000.00"))
    assert rules.create_unknown_customers is False
    # The empty config: no rule, unknown customers created.
    assert stored_form(parse_attribution_config({})) == {
        "exclusive_guide": None,
        "o2o": None,
        "large_order_threshold": None,
        "create_unknown_customers": True,
    }


def test_every_problem_is_reported_at_once_with_its_path_and_code() -> None:
    raw = {
        "exclusive_guide": {"protection_days": 0, "window": 3},
        "o2o": {
            "when": {"channel": "", "operator": "x"},
            "splits": [
                {"staff_attribute": "operator", "share": "0.5"},
                {"staff_attribute": "operator", "share": "-0.1"},
                {"staff_attribute": "service", "share": "1.5"},
                {"staff_attribute": "", "share": "0.1234567"},
                {"share": "0.1"},
            ],
        },
        "large_order_threshold": "-5.001",
        "create_unknown_customers": "yes",
        "follow_up": [],
    }
    found = problems(raw)
    expected = [
        ("exclusive_guide.protection_days", "VALUE_OUT_OF_RANGE"),
        ("exclusive_guide.window", "UNKNOWN_FIELD"),
        ("o2o.splits[4].staff_attribute", "MISSING_FIELD"),
        ("create_unknown_customers", "INVALID_TYPE"),
        ("follow_up", "UNKNOWN_FIELD"),
        ("large_order_threshold", "THRESHOLD_NOT_POSITIVE"),
        ("large_order_threshold", "TOO_MANY_DECIMALS"),
        ("o2o.when.channel", "EMPTY_TEXT"),
        ("o2o.splits[0].staff_attribute", "ATTRIBUTE_IS_CONDITION"),
        ("o2o.splits[1].staff_attribute", "DUPLICATE_ATTRIBUTE"),
        ("o2o.splits[1].staff_attribute", "ATTRIBUTE_IS_CONDITION"),
        ("o2o.splits[1].share", "SHARE_NOT_POSITIVE"),
        ("o2o.splits[2].share", "VALUE_OUT_OF_RANGE"),
        ("o2o.splits[3].staff_attribute", "EMPTY_TEXT"),
        ("o2o.splits[3].share", "TOO_MANY_DECIMALS"),
        ("o2o.splits", "SHARES_NOT_1"),
    ]
    assert sorted(found) == sorted(expected)
    with pytest.raises(AttributionConfigInvalid) as refused:
        parse_attribution_config(raw)
    assert len(refused.value.problems) == len(expected)
    # Every message is a template with its parameters (rendered in the reader's language at the edge).
    assert all(isinstance(problem.message, Message) and str(problem.message) for problem in refused.value.problems)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"o2o": {"when": {}, "splits": []}}, [("o2o.when", "CONDITIONS_REQUIRED"), ("o2o.splits", "SPLITS_REQUIRED")]),
        ({"o2o": {"when": {"a": "b"}}}, [("o2o.splits", "MISSING_FIELD")]),
        ({"o2o": "yes"}, [("o2o", "INVALID_TYPE")]),
        (
            {"o2o": {"when": {"a": 1}, "splits": []}},
            [("o2o.when.a", "INVALID_TYPE"), ("o2o.splits", "SPLITS_REQUIRED")],
        ),
        ({"large_order_threshold": "1e14"}, [("large_order_threshold", "VALUE_OUT_OF_RANGE")]),
        ({"large_order_threshold": True}, [("large_order_threshold", "INVALID_TYPE")]),
        ({"exclusive_guide": {"protection_days": 36501}}, [("exclusive_guide.protection_days", "VALUE_OUT_OF_RANGE")]),
        ({"exclusive_guide": {"protection_days": 1.5}}, [("exclusive_guide.protection_days", "INVALID_VALUE")]),
        ([], [("", "INVALID_TYPE")]),
        ("{not json", [("", "INVALID_JSON")]),
    ],
)
def test_shapes_and_meanings(raw: object, expected: list[tuple[str, str]]) -> None:
    assert problems(raw) == expected


def _split(share: object) -> dict[str, Any]:
    return {"o2o": {"when": {"channel": "o2o"}, "splits": [{"staff_attribute": "operator", "share": share}]}}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # NUL and an unpaired surrogate, in a value and in a key: text Postgres cannot store.
        ({"o2o": {"when": {"channel": "off\x00line"}, "splits": []}}, ("o2o.when.channel", "INVALID_TEXT")),
        ({"o2o": {"when": {"chan\ud800": "x"}, "splits": []}}, ('o2o.when["chan\\ud800"]', "INVALID_TEXT")),
        (_split(float("inf")), ("o2o.splits[0].share", "INVALID_VALUE")),  # JSON 1e309 reads as infinity
        (_split("1e309"), ("o2o.splits[0].share", "VALUE_OUT_OF_RANGE")),
        (_split("0." + "3" * 30), ("o2o.splits[0].share", "TOO_MANY_DECIMALS")),
        (_split("0.3333333"), ("o2o.splits[0].share", "TOO_MANY_DECIMALS")),  # 7 decimals: numeric(9,6) keeps 6
        (_split("NaN"), ("o2o.splits[0].share", "INVALID_VALUE")),
        ({"large_order_threshold": "9" * 400}, ("large_order_threshold", "VALUE_OUT_OF_RANGE")),
        ({"o2o": {"when": {"c": "x" * 201}, "splits": []}}, ("o2o.when.c", "TEXT_TOO_LONG")),
        (
            {"o2o": {"when": {"c": "x"}, "splits": [{"staff_attribute": "a", "share": "0.1"}] * 11}},
            ("o2o.splits", "TOO_MANY_ITEMS"),
        ),
    ],
)
def test_hostile_input_is_a_coded_problem(raw: object, expected: tuple[str, str]) -> None:
    assert expected in problems(raw)


def test_sizes_and_depths_are_refused_before_anything_else() -> None:
    deep: Any = {}
    for _ in range(50):
        deep = {"x": deep}
    assert problems({"o2o": deep}) == [("", "CONFIG_TOO_DEEP")]
    assert problems({"o2o": {"when": {f"k{i}": "v" * 100 for i in range(1000)}}}) == [("", "CONFIG_TOO_LARGE")]
    assert problems("[" * 100_000) == [("", "CONFIG_TOO_DEEP")]


def test_json_text_is_read_with_exact_decimals() -> None:
    text = (
        '{"o2o": {"when": {"channel": "o2o"}, "splits": [{"staff_attribute": "a", "share": 0.1}, '
        '{"staff_attribute": "b", "share": 0.2}, {"staff_attribute": "c", "share": 0.7}]}}'
    )
    assert problems(text) == []  # 0.1 + 0.2 + 0.7 is exactly 1 (as binary floats it is not)


@pytest.mark.parametrize(
    ("legacy", "config"),
    [
        ({}, None),
        ({"locale": "en"}, None),
        ({"attribution": {"exclusive_guide": {}}}, None),
        ({"attribution": {"exclusive_guide": {"protection_days": 90}}}, {"exclusive_guide": {"protection_days": 90}}),
        ({"large_order_threshold": 30000}, {"large_order_threshold": "30000"}),
        (
            {
                "attribution": {
                    "o2o": {
                        "attribute": "channel",
                        "value": "o2o",
                        "splits": [
                            {"staff_attribute": "operator", "share": 0.3},
                            {"staff_attribute": "service", "share": "0.7"},
                        ],
                    }
                }
            },
            {
                "o2o": {
                    "when": {"channel": "o2o"},
                    "splits": [
                        {"staff_attribute": "operator", "share": "0.3"},
                        {"staff_attribute": "service", "share": "0.7"},
                    ],
                }
            },
        ),
    ],
)
def test_legacy_settings_become_the_same_rules(legacy: dict[str, Any], config: dict[str, Any] | None) -> None:
    assert config_from_legacy_settings(legacy) == config
    if config is not None:
        # The first version reads exactly as the settings read before versions existed.
        migrated = AttributionRules.from_config(parse_attribution_config(config))
        assert migrated == AttributionRules.from_settings(legacy)


def test_the_version_in_force_at_an_instant() -> None:
    from datetime import UTC, datetime

    first, second, third = (AttributionRules(large_order_threshold=Decimal(n)) for n in (1, 2, 3))
    timeline = RulesTimeline(
        [
            (datetime(2026, 10, 1, tzinfo=UTC), first),
            (datetime(2026, 11, 1, tzinfo=UTC), second),
            (datetime(2026, 11, 1, tzinfo=UTC), third),  # same start, saved later: wins
        ],
        AttributionRules(),
    )
    assert timeline.single is None
    assert timeline.at(datetime(2026, 9, 30, 23, 59, tzinfo=UTC)) == AttributionRules()
    assert timeline.at(datetime(2026, 10, 1, tzinfo=UTC)) is first
    assert timeline.at(datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC)) is first
    assert timeline.at(datetime(2026, 11, 1, tzinfo=UTC)) is third
    assert RulesTimeline([], second).single is second
    assert RulesTimeline([(datetime(1970, 1, 1, tzinfo=UTC), first)]).single is first
