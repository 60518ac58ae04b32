"""The per-item checks and the team-tree settling are pure functions: plain calls here, no database involved."""

from __future__ import annotations

from datetime import date, datetime

from tenants.staff.checks import Problems, can_be_code, check_codes, check_customer, check_staff
from tenants.staff.records import CustomerItem, StaffItem, TeamItem
from tenants.staff.tree import cycle_members, settle_team_references


def found(problems: Problems) -> list[tuple[int | None, str, str | None]]:
    return [(p.index, p.code.value, p.field) for p in problems.sorted()]


def test_cycle_members_are_the_codes_on_a_cycle_only() -> None:
    parent_of: dict[str, str | None] = {"a": "b", "b": "c", "c": "a", "d": "a", "e": None, "f": "f"}
    assert cycle_members(parent_of, sorted(parent_of)) == {"a", "b", "c", "f"}
    assert cycle_members({"x": "y", "y": None}, ["x"]) == set()


def test_settling_refuses_what_hangs_under_a_refused_team() -> None:
    # z is unknown, so y is refused; then x, whose parent y is no longer a valid item, is refused too.
    items = [TeamItem("x", "X", parent="y"), TeamItem("y", "Y", parent="z"), TeamItem("k", "K", parent="s1")]
    candidates = {item.code: (index, item) for index, item in enumerate(items)}
    problems = Problems()
    settle_team_references(candidates, {"s1": None}, problems)
    assert found(problems) == [(0, "UNKNOWN_PARENT", "parent"), (1, "UNKNOWN_PARENT", "parent")]
    assert list(candidates) == ["k"]


def test_settling_refuses_a_cycle_through_stored_teams() -> None:
    # Stored: s2 under s1. The batch moves s1 under a new team n, and n under s2: s1 -> n -> s2 -> s1.
    items = [TeamItem("s1", "S1", parent="n"), TeamItem("n", "N", parent="s2"), TeamItem("m", "M", parent="s1")]
    candidates = {item.code: (index, item) for index, item in enumerate(items)}
    problems = Problems()
    settle_team_references(candidates, {"s1": None, "s2": "s1"}, problems)
    assert found(problems) == [(0, "TEAM_CYCLE", "parent"), (1, "TEAM_CYCLE", "parent")]
    # m hung under s1, which is stored: it stays.
    assert list(candidates) == ["m"]


def test_item_checks_report_each_field_once() -> None:
    problems = Problems()
    check_codes(["a", "a", " b", "c\x00"], problems)
    duplicates = [(0, "DUPLICATE_IN_BATCH", "code"), (1, "DUPLICATE_IN_BATCH", "code")]
    assert found(problems) == [*duplicates, (2, "INVALID_CODE", "code")]
    problems = Problems()
    dates = check_staff(0, StaffItem("s", "S", "Guide", hired_on="2026-02-30", left_on=date(2026, 1, 1)), problems)
    assert dates == (None, date(2026, 1, 1))
    assert found(problems) == [(0, "INVALID_ROLE", "role"), (0, "INVALID_DATE_FORMAT", "hiredOn")]
    problems = Problems()
    assert check_customer(0, CustomerItem("c", guide=None, bound_since="2026-03-01T09:00:00"), problems) is None
    assert check_customer(1, CustomerItem("d", bound_since=datetime.fromisoformat("2026-03-01T09:00+08:00")), problems)
    assert found(problems) == [(0, "NAIVE_DATETIME", "boundSince"), (1, "BOUND_WITHOUT_GUIDE", "boundSince")]


def test_only_what_can_be_a_code_is_looked_up() -> None:
    assert can_be_code("s1")
    assert not can_be_code("")
    assert not can_be_code(" s1")
    assert not can_be_code("x" * 65)
    assert not can_be_code("a\x00b")
    assert not can_be_code("x\ud800")
