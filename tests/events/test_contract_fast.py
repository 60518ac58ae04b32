"""The fast shape check accepts only what the contract's model accepts, with the very same values.

Ingestion checks the common shape in plain Python (`check_fast`, `check_fast_json`) and sends everything else through
the pydantic model `EventIn`, which also words every problem. These tests hold the fast check to the model on a corpus
of valid and invalid items, both as GraphQL gives them (mappings) and as NDJSON lines (JSON text). A JSON text that
pydantic's own JSON reader refuses (lone surrogate escapes, nesting beyond 200 levels) but Python's json reads (as it
reads GraphQL variables) is checked as that mapping, so both entry points give such an item the same code.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from tenants.events.checks import check_item
from tenants.events.contract import CheckedEvent, EventIn
from tenants.events.fast import check_fast, check_fast_json
from tenants.events.problems import problem_from_validation

BASE: dict[str, Any] = {
    "externalId": "ord-1001",
    "type": "order",
    "occurredAt": "2026-10-05T10:00:00+08:00",
    "staff": "guide-001",
    "amount": "1200.00",
}


def variant(**changes: Any) -> dict[str, Any]:
    item = {**BASE, **changes}
    return {key: value for key, value in item.items() if value is not _DROP}


_DROP = object()

ITEMS: list[dict[str, Any]] = [
    BASE,
    variant(
        customer="cust-9",
        value=None,
        attributes={"channel": "offline"},
        credits=[{"staff": "ops-01", "share": "0.3"}, {"staff": "cs-02", "share": "0.7"}],
    ),
    variant(type="refund", amount="-10.00", attributes={"order": "ord-1"}),
    variant(type="refund", amount="-10.00", attributes={"order": 12}),
    variant(type="refund", amount="-10.00", attributes={"order": True}),
    variant(type="refund", amount="-10.00", attributes={"order": ""}),
    variant(type="refund", amount="10.00", attributes={"order": "o"}),
    variant(type="refund", amount="-0.00", attributes={"order": "o"}),
    variant(staff=_DROP, team="store-1"),
    variant(staff=None, customer=None, team=None),
    variant(amount=None),
    variant(amount=_DROP),
    variant(value="3.14159265358979"),
    variant(value="-99999999999999.5"),
    variant(value="100000000000000"),
    variant(value="1e3"),
    variant(value="NaN"),
    variant(value=12),
    variant(attributes=None),
    variant(attributes=[]),
    variant(attributes="x"),
    variant(attributes={}),
    variant(attributes={"nested": {"a": [1, 2.5, None, True, "\u00e9\u4e2d"]}, "n": 12345678901234567890}),
    variant(credits=None),
    variant(credits=[]),
    variant(credits=[{"staff": "a", "share": "1"}]),
    variant(credits=[{"team": "t", "share": "1.0"}]),
    variant(credits=[{"staff": "a", "team": "t", "share": "1"}]),
    variant(credits=[{"share": "1"}]),
    variant(credits=[{"staff": "a"}]),
    variant(credits=[{"staff": "a", "share": "0"}]),
    variant(credits=[{"staff": "a", "share": "1.0000001"}]),
    variant(credits=[{"staff": "a", "share": "-0.5"}, {"staff": "b", "share": "1.5"}]),
    variant(credits=[{"staff": "a", "share": 0.5}, {"staff": "b", "share": 0.5}]),
    variant(credits=[{"staff": "a", "share": "0.5", "note": "x"}]),
    variant(credits=[{"staff": "a", "share": "0.25"}, {"staff": "b", "share": "0.25"}]),
    variant(credits={"staff": "a", "share": "1"}),
    variant(credits=["a"]),
    variant(note="unknown field"),
    variant(externalId=_DROP, external_id="python-name"),
    variant(externalId=""),
    variant(externalId="x" * 128),
    variant(externalId="x" * 129),
    variant(externalId=12),
    variant(externalId="tab\there, back\\slash, new\nline, \u00e9"),
    variant(staff=""),
    variant(staff="s" * 64),
    variant(staff="s" * 65),
    variant(staff=5),
    variant(customer=["c"]),
    variant(team=""),
    variant(type="Order"),
    variant(type="order!"),
    variant(type="o" * 64),
    variant(type="o" * 65),
    variant(type="_order"),
    variant(type="customer_added"),
    variant(type=["order"]),
    variant(type=None),
    # What Python holds but Postgres cannot: each item is refused alone, with its own code.
    variant(externalId="x\ud800"),
    variant(externalId="pair \ud83d\ude00 ok"),
    variant(staff="g\udfff"),
    variant(customer="\ud800"),
    variant(team="t\udc00"),
    variant(type="order\ud800"),
    variant(amount="1\ud800"),
    variant(value="2\ud800"),
    variant(attributes={"k": "x\ud800"}),
    variant(attributes={"k\ud800": "x"}),
    variant(attributes={"list": [1, {"deep": ["\udc00"]}]}),
    variant(attributes={"fine": "\u00e9\u4e2d \U0001f600"}),
    variant(credits=[{"staff": "a\ud800", "share": "1"}]),
    variant(credits=[{"team": "\ud800", "share": "1"}]),
    variant(**{"unknown\ud800": 1}),
    variant(credits=[{"staff": "a", "share": "0.333334"}, {"staff": "b", "share": "0.666666"}]),
    variant(credits=[{"staff": "a", "share": "0.3333335"}, {"staff": "b", "share": "0.6666665"}]),
    variant(credits=[{"staff": "a", "share": "0.5000000"}, {"staff": "b", "share": "0.5"}]),
    variant(credits=[{"staff": "a", "share": "1E-7"}]),
    variant(credits=[{"staff": "a", "share": 0.1234567}]),
    variant(value="0.000001"),
    variant(value="0.0000001"),
    variant(value="1.0000000"),
    variant(value="1e-7"),
    variant(value=1.1234567),
    variant(attributes={"n": float("nan")}),
    variant(attributes={"n": [float("inf")]}),
    variant(attributes={"nul\u0000": 1}),
]


def nested(depth: int) -> dict[str, Any]:
    """Attributes nested `depth` levels deep (the attributes object itself is level 1)."""
    attributes: dict[str, Any] = {}
    for _ in range(depth - 1):
        attributes = {"a": attributes}
    return attributes


ITEMS += [variant(attributes=nested(depth)) for depth in (63, 64, 65, 400, 800)]
ITEMS += [variant(attributes={"a": [[[[[[]]]]]], "b": nested(58)})]
TIMESTAMPS = [
    "2026-10-05T10:00:00Z",
    "2026-10-05T10:00:00-00:00",
    "2026-10-05T10:00:00.5+08:00",
    "2026-10-05T10:00:00.123456+05:45",
    "2026-10-05T10:00:00.1234567+08:00",
    "2026-10-05T10:00:00+23:59",
    "2026-10-05T10:00:00+24:00",
    "2026-10-05T10:00:00+15:59",
    "2026-10-05T10:00:00-15:59",
    "2026-10-05T10:00:00+16:00",
    "2026-10-05T10:00:00-16:00",
    "2026-10-05T10:00:00-23:59",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:00:00-14:00",
    "2026-10-05T24:00:00+08:00",
    "2026-02-29T10:00:00Z",
    "2028-02-29T10:00:00Z",
    "2026-10-05T10:00:60Z",
    "0000-01-01T00:00:00Z",
    "2026-10-05t10:00:00Z",
    "2026-10-05 10:00:00+08:00",
    "2026-10-05T10:00:00+0800",
    "2026-10-05T10:00Z",
    "2026-10-05T10:00:00",
    "2026-10-05",
    "yesterday",
    "\u0662\u0660\u0662\u0666-10-05T10:00:00Z",
    "",
]
AMOUNTS = ["100.50", "007.50", "-0.00", "0", "99999999999999.99", "100000000000000", "-99999999999999.99"]
AMOUNTS += ["12.345", "1_000", " 5", "5 ", "5.", ".5", "+5", "1e2", "\u0663", "NaN", "Infinity", "", "-", "1,5"]
ITEMS += [variant(occurredAt=timestamp) for timestamp in TIMESTAMPS]
ITEMS += [variant(occurredAt=1_780_000_000)]
ITEMS += [variant(amount=amount) for amount in AMOUNTS]
ITEMS += [variant(amount=1200.5), variant(amount=1200), variant(amount=True)]


def same_event(fast: CheckedEvent, model: EventIn) -> None:
    reference = CheckedEvent.of(model)
    for name in ("external_id", "type", "staff", "customer", "team", "is_refund", "order_external_id"):
        assert getattr(fast, name) == getattr(reference, name), name
    assert fast.occurred_at == reference.occurred_at
    assert fast.occurred_at.utcoffset() == reference.occurred_at.utcoffset()
    # The text sent to Postgres reads as the same instant.
    assert datetime.fromisoformat(fast.occurred_text) == fast.occurred_at
    for name in ("amount", "value"):
        mine, theirs = getattr(fast, name), getattr(reference, name)
        assert (mine is None) == (theirs is None), name
        if mine is not None:
            assert mine.as_tuple() == theirs.as_tuple(), name
            # The text sent to Postgres reads as the same number.
            assert Decimal(getattr(fast, f"{name}_text")).as_tuple() == mine.as_tuple(), name
    assert json.dumps(fast.attributes, sort_keys=True) == json.dumps(reference.attributes, sort_keys=True)
    assert type(fast.attributes) is dict
    assert (fast.credits is None) == (reference.credits is None)
    assert [(c.staff, c.team, c.share.as_tuple()) for c in fast.credits or ()] == [
        (c.staff, c.team, c.share.as_tuple()) for c in reference.credits or ()
    ]


def read_as_graphql_does(text: bytes) -> dict[str, Any] | None:
    try:
        item = json.loads(text.decode())  # a byte order mark stays a character: not JSON
    except (ValueError, RecursionError):
        return None
    return item if isinstance(item, dict) else None


def model_of(raw: dict[str, Any] | bytes) -> EventIn | ValidationError:
    try:
        return EventIn.model_validate_json(raw) if isinstance(raw, bytes) else EventIn.model_validate(raw)
    except ValidationError as error:
        if isinstance(raw, bytes) and error.errors()[0]["type"] == "json_invalid":
            # What pydantic's JSON reader refuses (lone surrogates, 200+ levels) is checked as GraphQL would read it.
            item = read_as_graphql_does(raw)
            if item is not None:
                return model_of(item)
        return error


@pytest.mark.parametrize("item", ITEMS, ids=lambda item: json.dumps(item, ensure_ascii=True)[:80])
def test_fast_check_of_mappings_agrees_with_the_model(item: dict[str, Any]) -> None:
    model = model_of(item)
    fast = check_fast(item)
    if fast is not None:
        assert isinstance(model, EventIn), model
        same_event(fast, model)
    checked = check_item(item)
    if isinstance(model, ValidationError):
        assert isinstance(checked, ValidationError)
        assert problem_from_validation(0, checked) == problem_from_validation(0, model)
    else:
        assert isinstance(checked, CheckedEvent)
        same_event(checked, model)


def json_texts() -> list[bytes]:
    texts = [json.dumps(item).encode() for item in ITEMS]
    texts += [json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode() for item in ITEMS[:5]]
    base = json.dumps(BASE)[1:-1]
    texts += [
        json.dumps(BASE).encode() + b"\r",
        json.dumps(BASE).encode() + b" \t ",
        b"  " + json.dumps(BASE).encode(),
        b"\xef\xbb\xbf" + json.dumps(BASE).encode(),
        json.dumps(BASE).encode() + b" x",
        json.dumps(BASE).encode() + b"{}",
        b"{not json",
        b"",
        b"null",
        b"[]",
        b"12",
        b'"text"',
        b"\xff\xfe{}",
        f'{{{base}, "externalId": "second"}}'.encode(),
        f'{{{base}, "attributes": {{"a": 1}}, "attributes": {{"b": 2}}}}'.encode(),
        f'{{"attributes": {{"a": 1}}, {base}, "attributes": {{"b": 2}}}}'.encode(),
        f'{{{base}, "attributes": {{"attributes": {{"x": 1}}}}}}'.encode(),
        f'{{{base}, "attribut\\u0065s": {{"attributes": {{"x": 1}}}}}}'.encode(),
        f'{{{base}, "attributes" \t: \t{{"k": "v"}} , "value": "1"}}'.encode(),
        f'{{{base}, "attributes": {{"s": "quote \\" back \\\\ tab \\t"}}}}'.encode(),
        f'{{{base}, "attributes": {{"x": NaN, "y": Infinity, "z": -Infinity}}}}'.encode(),
        f'{{{base}, "attributes": {{"x": 1e400, "y": 1.5e-400, "z": -0, "w": 1.0}}}}'.encode(),
        f'{{{base}, "attributes": {{"x": "\\ud800"}}}}'.encode(),
        f'{{{base}, "attributes": {{"x": "\\ud83d\\ude00"}}}}'.encode(),
        f'{{{base}, "attributes": {{"x": "\\u0041"}}}}'.encode(),
        f'{{{base}, "attributes": {{"x": "raw\ttab"}}}}'.encode(),
        f'{{{base}, "attributes": {{"x": 01}}}}'.encode(),
        f'{{{base}, "attributes": {{"x": "a\\/b"}}}}'.encode(),
    ]
    for depth in (60, 62, 63, 64, 120, 190, 199, 200, 260):
        texts.append(f'{{{base}, "attributes": {{"x": {"[" * depth}{"]" * depth}}}}}'.encode())
    texts += [
        f'{{{base}, "attributes": {{"x": "\\udc00"}}}}'.encode(),
        f'{{{base}, "attributes": {{"\\ud800": 1}}}}'.encode(),
        f'{{{base}, "attributes": {{"x": "\\ud83d\\u0041"}}}}'.encode(),
        f'{{{base}, "attributes": {{"x": "\\\\ud800"}}}}'.encode(),
        f'{{{base}, "attributes": {{"x": "\\ud800", "y": NaN}}}}'.encode(),
        f'{{{base}, "attributes": {{"x": "\\ud800"}}, "note": 1}}'.encode(),
        f'{{{base}, "customer": "c\\ud800"}}'.encode(),
        f'{{{base}, "unknown\\ud800": 1}}'.encode(),
        f'{{{base}, "credits": [{{"staff": "\\udbff", "share": "1"}}]}}'.encode(),
        f'{{{base}, "attributes": {{"x": "\\ud800"}}}} trailing'.encode(),
        f'{{{base}, "attributes": {{"x": {"[" * 300}"\\ud800"{"]" * 300}}}}}'.encode(),
        f'{{{base}, "attributes": {{"x": {"[" * 3000}"\\ud800"{"]" * 3000}}}}}'.encode(),
        json.dumps({**BASE, "externalId": "x\ud800", "attributes": {"a": "\udc00"}}).encode(),
        json.dumps({**BASE, "credits": [{"staff": "a", "share": "0.3333335"}]}).encode(),
        json.dumps({**BASE, "value": "0.1234567"}).encode(),
        json.dumps({**BASE, "attributes": nested(65)}).encode(),
        json.dumps({**BASE, "attributes": nested(64)}).encode(),
    ]
    return texts


@pytest.mark.parametrize("text", json_texts(), ids=lambda text: text[:80].decode(errors="replace"))
def test_fast_check_of_json_lines_agrees_with_the_model(text: bytes) -> None:
    model = model_of(text)
    fast = check_fast_json(text)
    if fast is not None:
        assert isinstance(model, EventIn), model
        same_event(fast, model)
        if fast.attributes_json is not None:
            # The attributes' own text, as sent, is what gets stored.
            stored = json.loads(fast.attributes_json)
            assert json.dumps(stored, sort_keys=True) == json.dumps(model.attributes, sort_keys=True)
    checked = check_item(text)
    if isinstance(model, ValidationError):
        assert isinstance(checked, ValidationError)
        assert problem_from_validation(0, checked) == problem_from_validation(0, model)
    else:
        assert isinstance(checked, CheckedEvent)
        same_event(checked, model)


def test_the_common_shape_takes_the_fast_path() -> None:
    line = json.dumps({**BASE, "attributes": {"channel": "offline"}}).encode()
    fast = check_fast_json(line)
    assert fast is not None
    assert fast.attributes_json == '{"channel": "offline"}'
    assert check_fast(variant(credits=[{"staff": "a", "share": "0.5"}, {"team": "t", "share": "0.5"}])) is not None
