"""schema/common.py: global ids (opaque, typed, garbage-proof) and the tenant's timezone (issue 8 item 7)."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest

from schema.common import global_id, in_tenant_zone, parse_global_id, parse_global_int_id, tenant_zone
from tests.conftest import TenantFactory


def test_a_global_id_round_trips_and_names_its_type() -> None:
    scorecard = global_id("Scorecard", 12, 0, 345)
    assert parse_global_id(scorecard, "Scorecard") == ("12", "0", "345")
    assert parse_global_int_id(scorecard, "Scorecard", parts=3) == (12, 0, 345)
    assert parse_global_id(scorecard, "Period") is None  # the same key as another type is another object
    assert parse_global_int_id(scorecard, "Scorecard") is None  # wrong number of parts
    # Codes may hold the separator: still one part each; ids are URL-safe and unpadded.
    statement = global_id("Statement", 3, "a:b%2", "店-1")
    assert parse_global_id(statement, "Statement") == ("3", "a:b%2", "店-1")
    assert "=" not in statement and "/" not in statement and "+" not in statement
    assert global_id("Period", 1) != global_id("Period", 2)
    with pytest.raises(ValueError, match="needs a key"):
        global_id("Period")


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "12",
        "!!!",
        "\x00",
        "\ud800",
        "x" * 10_000_000,
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),  # not UTF-8
        base64.urlsafe_b64encode(b"Period").decode(),  # no key
        base64.urlsafe_b64encode(b"Period:").decode(),  # an empty key part is not an int
        base64.urlsafe_b64encode(b"Period:-1").decode(),
        base64.urlsafe_b64encode(b"Period:1e3").decode(),
        base64.urlsafe_b64encode(b"Period:99999999999999999999").decode(),  # beyond bigint
        base64.urlsafe_b64encode("Period:١٢".encode()).decode(),  # digits, but not ASCII ones
    ],
)
def test_garbage_is_no_id(garbage: str) -> None:
    assert parse_global_int_id(garbage, "Period") is None


def test_times_are_shown_with_the_tenants_offset() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    moment = datetime(2026, 10, 31, 16, 10, tzinfo=UTC)
    local = in_tenant_zone(moment, shanghai)
    assert (local, local.isoformat()) == (moment, "2026-11-01T00:10:00+08:00")
    assert in_tenant_zone(moment.astimezone(timezone(timedelta(hours=-5))), shanghai).isoformat() == local.isoformat()
    with pytest.raises(ValueError, match="aware"):
        in_tenant_zone(datetime(2026, 10, 31, 16, 10), shanghai)  # noqa: DTZ001 (the naive input is the point)


async def test_the_tenants_zone_is_read_once_per_request(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant(timezone="America/New_York")
    loaders: dict[str, Any] = {}
    info = cast(
        Any, SimpleNamespace(context=SimpleNamespace(loaders=loaders, tenant_id=tenant.tenant_id, principal=None))
    )
    zones = await asyncio.gather(*(tenant_zone(info) for _ in range(50)))
    assert set(zones) == {ZoneInfo("America/New_York")}
    assert list(loaders) == ["common.tenant_zone"]  # one shared read for the 50 fields
    other = await make_tenant(timezone="Asia/Shanghai")
    fresh = cast(Any, SimpleNamespace(context=SimpleNamespace(loaders={}, tenant_id=other.tenant_id, principal=None)))
    assert await tenant_zone(fresh) == ZoneInfo("Asia/Shanghai")  # per request: no zone leaks between tenants
