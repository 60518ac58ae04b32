"""GET /exports/statements.xlsx and .csv: the files a payroll clerk opens, checked against the ledger to the cent.

The worked example (DESIGN.md) is closed for real; its guides are placed in a team tree (region north > store sa with
小王 and 小李, store sb with 小张 at the top level), so that one sheet per team, the summary and a manager's scope all
have something to show. A guide's name starts with "=" and a team name holds every character a sheet name cannot.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from starlette.applications import Starlette

from tenants.access.service import link_staff_user, set_member_teams
from tenants.audit.service import SYSTEM
from tenants.db.uow import tenant_unit_of_work
from tenants.demo import PERIOD, SCHEME_NAME, seed_worked_example
from tenants.events.service import ingest
from tenants.exports.repository import StatementLine
from tenants.exports.service import export_statements
from tenants.exports.workbook import XlsxStatementWriter, labels
from tenants.periods.approvals import approve_statements
from tenants.periods.close import close_period
from tenants.periods.models import LedgerLine, Period
from tenants.staff.models import Staff
from tenants.staff.records import StaffItem, TeamItem
from tenants.staff.service import upsert_staff, upsert_teams
from tenants.tenancy import service
from tenants.tenancy.auth import Role, Scope
from tenants.tenancy.errors import AuthError, AuthErrorCode
from tenants.tenancy.identity import TenantId
from tests.conftest import PASSWORD, GraphQL, TenantFactory, TenantFixture, unique
from tests.tenancy.test_messages import set_locale

Login = Callable[..., Awaitable[str]]
XLSX = "/exports/statements.xlsx"
CSV = "/exports/statements.csv"
INJECTED_NAME = '=HYPERLINK("http://evil.example","小王")'
AWKWARD_TEAM = "朝阳店[1]/A*?:\\'"


@dataclass(frozen=True)
class Seeded:
    tenant: TenantFixture
    scheme_id: int
    admin_token: str


async def seed(make_tenant: TenantFactory, login: Login) -> Seeded:
    tenant = await make_tenant()
    scheme_id = await seed_worked_example(tenant.tenant_id)
    teams = await upsert_teams(
        tenant.tenant_id,
        SYSTEM,
        [
            TeamItem(code="north", name="华北区", kind="region"),
            TeamItem(code="sa", name=AWKWARD_TEAM, parent="north"),
            TeamItem(code="sb", name="海淀店"),
        ],
    )
    staff = await upsert_staff(
        tenant.tenant_id,
        SYSTEM,
        [
            StaffItem(code="guide-001", name=INJECTED_NAME, role="guide", team="sa", hired_on="2026-01-01"),
            StaffItem(code="guide-002", name="小李", role="guide", team="sa", hired_on="2026-01-01"),
            StaffItem(code="guide-003", name="小张", role="guide", team="sb", hired_on="2026-01-01"),
        ],
    )
    assert not teams.errors and not staff.errors
    await close_period(tenant.tenant_id, scheme_id, PERIOD)
    return Seeded(tenant, scheme_id, await login(tenant.admin_email))


async def ledger_by_staff(tenant_id: TenantId) -> dict[str, list[tuple[str, str, Decimal, str]]]:
    """(kind, rule key, amount, derivation) of every posted line, by staff code, in posting order."""
    async with tenant_unit_of_work(tenant_id):
        codes = {s.id: s.code for s in await Staff.filter(tenant_id=tenant_id)}
        lines = await LedgerLine.filter(tenant_id=tenant_id).order_by("id")
    result: dict[str, list[tuple[str, str, Decimal, str]]] = defaultdict(list)
    for line in lines:
        result[codes[line.staff_id]].append((line.kind, line.rule_key, line.amount, line.derivation))
    return result


async def member(tenant: TenantFixture, role: Role, login: Login) -> tuple[int, str]:
    email = f"{unique(role.value)}@example.com"
    user = await service.create_user(email, PASSWORD)
    await service.add_membership(tenant.tenant_id, user.id, role)
    return user.id, await login(email)


async def download(
    client: httpx.AsyncClient, path: str, token: str | None, scheme: Any, period: Any = PERIOD
) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    params = {k: v for k, v in (("scheme", scheme), ("period", period)) if v is not None}
    return await client.get(path, params=params, headers=headers)


def cents(value: Any) -> Decimal:
    """A number read back from the workbook (a float) to the cent, exactly."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


def rows(sheet: Worksheet) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


async def test_workbook_has_the_ledger_to_the_cent(
    client: httpx.AsyncClient, make_tenant: TenantFactory, login: Login
) -> None:
    seeded = await seed(make_tenant, login)
    response = await download(client, XLSX, seeded.admin_token, seeded.scheme_id)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert f"statements-{seeded.scheme_id}-{PERIOD}.xlsx" in response.headers["content-disposition"]
    assert int(response.headers["content-length"]) == len(response.content)
    book = load_workbook(io.BytesIO(response.content))
    # Summary first, then one sheet per team (sa before sb by team code), names made legal.
    assert book.sheetnames == ["汇总", "朝阳店_1__A____", "海淀店"]
    ledger = await ledger_by_staff(seeded.tenant.tenant_id)

    summary = book["汇总"]
    title, header, *data, totals = rows(summary)
    assert title[0] == f"{SCHEME_NAME}：{PERIOD} 对账单（第 1 版，已结算）"
    assert header == (
        *("员工编号", "姓名", "门店/小组编号", "门店/小组"),
        *("提成", "奖金", "扣款", "调整", "应发合计", "明细行数"),
    )
    assert summary.freeze_panes == "A3"
    assert summary.auto_filter.ref == "A2:J5"
    by_code = {row[0]: row for row in data}
    assert list(by_code) == ["guide-001", "guide-002", "guide-003"]
    expected_net = {"guide-001": Decimal("1200.00"), "guide-002": Decimal("-400.00"), "guide-003": Decimal("300.00")}
    for code, row in by_code.items():
        kinds: dict[str, Decimal] = defaultdict(Decimal)
        for kind, _rule, amount, _derivation in ledger[code]:
            kinds[kind] += amount
        assert [cents(v) for v in row[4:8]] == [kinds[k] for k in ("commission", "bonus", "penalty", "adjustment")]
        assert cents(row[8]) == sum(kinds.values()) == expected_net[code]
        assert row[9] == len(ledger[code])
    assert by_code["guide-001"][2:4] == ("sa", AWKWARD_TEAM)
    assert totals[0] == "合计"
    assert cents(totals[8]) == Decimal("1100.00")
    assert totals[9] == sum(len(lines) for lines in ledger.values())
    money = summary.cell(row=3, column=9)
    assert money.data_type == "n" and "¥" in money.number_format and money.number_format.endswith("0.00")

    store_a = book["朝阳店_1__A____"]
    title, header, *lines, team_total = rows(store_a)
    assert title[0] == f"{SCHEME_NAME}：{PERIOD} 对账单（第 1 版，已结算）"
    assert header == ("员工编号", "姓名", "版本", "类型", "规则", "金额", "更正期", "计算说明")
    assert store_a.freeze_panes == "A3" and store_a.auto_filter.ref == f"A2:H{2 + len(lines)}"
    kind_words = {"commission": "提成", "bonus": "奖金", "penalty": "扣款", "adjustment": "调整"}
    expected_lines = [
        (code, name, 1, kind_words[kind], rule, amount, None, derivation)
        for code, name in (("guide-001", INJECTED_NAME), ("guide-002", "小李"))
        for kind, rule, amount, derivation in ledger[code]
    ]
    assert [(*line[:5], cents(line[5]), *line[6:]) for line in lines] == expected_lines
    assert "提成 10,000.00 x 3% + 14,000.00 x 5% = 1,000.00" in [line[7] for line in lines]
    assert team_total[0] == "合计" and cents(team_total[5]) == Decimal("800.00")
    # The "=" name is a typed string, never a formula, and marked so that editing it in Excel keeps it text.
    name_cell = store_a.cell(row=3, column=2)
    assert (name_cell.value, name_cell.data_type, name_cell.quotePrefix) == (INJECTED_NAME, "s", True)
    assert cents(rows(book["海淀店"])[-1][5]) == Decimal("300.00")


async def test_csv_is_utf8_with_bom_and_the_same_lines(
    client: httpx.AsyncClient, make_tenant: TenantFactory, login: Login
) -> None:
    seeded = await seed(make_tenant, login)
    response = await download(client, CSV, seeded.admin_token, seeded.scheme_id)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")
    header, *data = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert header == [
        *("员工编号", "姓名", "门店/小组编号", "门店/小组", "期"),
        *("版本", "类型", "规则", "金额", "更正期", "计算说明"),
    ]
    ledger = await ledger_by_staff(seeded.tenant.tenant_id)
    kind_words = {"commission": "提成", "bonus": "奖金", "penalty": "扣款", "adjustment": "调整"}
    names = {"guide-001": "'" + INJECTED_NAME, "guide-002": "小李", "guide-003": "小张"}
    teams = {"guide-001": ("sa", AWKWARD_TEAM), "guide-002": ("sa", AWKWARD_TEAM), "guide-003": ("sb", "海淀店")}
    expected = [
        [code, names[code], *teams[code], PERIOD, "1", kind_words[kind], rule, f"{amount:.2f}", "", derivation]
        for code in ("guide-001", "guide-002", "guide-003")
        for kind, rule, amount, derivation in ledger[code]
    ]
    assert data == expected
    assert sum(Decimal(row[8]) for row in data) == Decimal("1100.00")


async def test_a_manager_gets_the_subtree_of_their_teams_only(
    client: httpx.AsyncClient, make_tenant: TenantFactory, login: Login
) -> None:
    seeded = await seed(make_tenant, login)
    manager_id, manager_token = await member(seeded.tenant, Role.MANAGER, login)
    await set_member_teams(seeded.tenant.tenant_id, SYSTEM, manager_id, ["north"])
    book = load_workbook(io.BytesIO((await download(client, XLSX, manager_token, seeded.scheme_id)).content))
    assert book.sheetnames == ["汇总", "朝阳店_1__A____"]
    assert [row[0] for row in rows(book["汇总"])[2:-1]] == ["guide-001", "guide-002"]
    assert cents(rows(book["汇总"])[-1][8]) == Decimal("800.00")
    response = await download(client, CSV, manager_token, seeded.scheme_id)
    assert {row[0] for row in list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))[1:]} == {
        "guide-001",
        "guide-002",
    }
    # A manager of no team gets the headers and nothing else.
    _lonely, lonely_token = await member(seeded.tenant, Role.MANAGER, login)
    book = load_workbook(io.BytesIO((await download(client, XLSX, lonely_token, seeded.scheme_id)).content))
    assert book.sheetnames == ["汇总"]
    assert len(rows(book["汇总"])) == 3
    assert cents(rows(book["汇总"])[-1][8]) == Decimal("0.00")


async def test_staff_and_api_keys_are_refused_with_a_code(
    client: httpx.AsyncClient, make_tenant: TenantFactory, login: Login
) -> None:
    seeded = await seed(make_tenant, login)
    staff_id, staff_token = await member(seeded.tenant, Role.STAFF, login)
    await link_staff_user(seeded.tenant.tenant_id, SYSTEM, "guide-001", staff_id)
    for path in (XLSX, CSV):
        response = await download(client, path, staff_token, seeded.scheme_id)
        assert response.status_code == 403
        assert response.json()["errors"][0]["code"] == "FORBIDDEN"
        assert "manager" in response.json()["errors"][0]["message"]
    key = await service.create_api_key(seeded.tenant.tenant_id, "payroll", list(Scope), None)
    response = await download(client, XLSX, key.plaintext, seeded.scheme_id)
    assert (response.status_code, response.json()["errors"][0]["code"]) == (403, "FORBIDDEN")
    response = await download(client, XLSX, None, seeded.scheme_id)
    assert (response.status_code, response.json()["errors"][0]["code"]) == (401, "UNAUTHENTICATED")
    response = await download(client, XLSX, "not-a-token", seeded.scheme_id)
    assert response.status_code == 401


async def test_another_tenants_scheme_is_not_found(
    client: httpx.AsyncClient, make_tenant: TenantFactory, login: Login
) -> None:
    seeded = await seed(make_tenant, login)
    other = await make_tenant()
    other_token = await login(other.admin_email)
    for path in (XLSX, CSV):
        response = await download(client, path, other_token, seeded.scheme_id)
        assert response.status_code == 404
        assert response.json()["errors"][0] == {
            "code": "SCHEME_NOT_FOUND",
            "field": "scheme",
            "message": response.json()["errors"][0]["message"],
        }
    # The other tenant's own export of that id is not found either way; the owner still gets the file.
    assert (await download(client, XLSX, seeded.admin_token, seeded.scheme_id)).status_code == 200


@pytest.mark.parametrize(
    ("scheme", "period", "status", "code"),
    [
        (None, PERIOD, 400, "BAD_SCHEME"),
        ("abc", PERIOD, 400, "BAD_SCHEME"),
        ("-1", PERIOD, 400, "BAD_SCHEME"),
        ("0", PERIOD, 400, "BAD_SCHEME"),
        ("1e309", PERIOD, 400, "BAD_SCHEME"),
        ("9" * 30, PERIOD, 400, "BAD_SCHEME"),
        ("٣", PERIOD, 400, "BAD_SCHEME"),  # a digit to str.isdigit, not an id
        ("{scheme}", None, 400, "BAD_PERIOD"),
        ("{scheme}", "2026-10\x00", 400, "BAD_PERIOD"),
        ("{scheme}", "x" * 10_000, 400, "BAD_PERIOD"),
        ("{scheme}", "2026-10' OR 1=1", 400, "BAD_PERIOD"),
        ("{scheme}", "2026-11", 404, "PERIOD_NOT_FOUND"),
        ("{scheme}", "9999-12", 404, "PERIOD_NOT_FOUND"),
        ("{scheme}", "0001-W01", 404, "PERIOD_NOT_FOUND"),
        ("9223372036854775807", PERIOD, 404, "SCHEME_NOT_FOUND"),
    ],
)
async def test_bad_arguments_get_a_coded_error(
    client: httpx.AsyncClient,
    make_tenant: TenantFactory,
    login: Login,
    scheme: str | None,
    period: str | None,
    status: int,
    code: str,
) -> None:
    tenant = await make_tenant()
    scheme_id = await seed_worked_example(tenant.tenant_id)
    await close_period(tenant.tenant_id, scheme_id, PERIOD)
    token = await login(tenant.admin_email)
    given = scheme.format(scheme=scheme_id) if scheme is not None else None
    response = await download(client, XLSX, token, given, period)
    assert response.status_code == status, response.text
    error = response.json()["errors"][0]
    assert error["code"] == code
    assert error["message"]


async def test_english_tenant_gets_english_headers(
    client: httpx.AsyncClient, make_tenant: TenantFactory, login: Login
) -> None:
    seeded = await seed(make_tenant, login)
    await set_locale(seeded.tenant.tenant_id, "en")
    token = await login(seeded.tenant.admin_email)
    book = load_workbook(io.BytesIO((await download(client, XLSX, token, seeded.scheme_id)).content))
    assert book.sheetnames[0] == "Statement summary"
    title, header, *_ = rows(book["Statement summary"])
    assert title[0] == f"{SCHEME_NAME}: statements of {PERIOD}, revision 1 (closed and posted)"
    assert header[:2] == ("Staff code", "Staff name")


@pytest.mark.parametrize("raw_period", ["%ED%A0%80", "%FF", "%00", "2026-10%00", "%E2%80%AE2026-10"])
async def test_undecodable_or_control_bytes_in_the_query_are_bad_period(
    client: httpx.AsyncClient, make_tenant: TenantFactory, login: Login, raw_period: str
) -> None:
    tenant = await make_tenant()
    scheme_id = await seed_worked_example(tenant.tenant_id)
    token = await login(tenant.admin_email)
    response = await client.get(
        f"{XLSX}?scheme={scheme_id}&period={raw_period}", headers={"authorization": f"Bearer {token}"}
    )
    assert (response.status_code, response.json()["errors"][0]["code"]) == (400, "BAD_PERIOD")


async def test_an_approved_periods_late_change_shows_in_the_next_statement_with_the_period_it_corrects(
    client: httpx.AsyncClient, make_tenant: TenantFactory, login: Login
) -> None:
    seeded = await seed(make_tenant, login)
    tenant_id = seeded.tenant.tenant_id
    await approve_statements(tenant_id, SYSTEM, seeded.scheme_id, PERIOD)
    book = load_workbook(io.BytesIO((await download(client, XLSX, seeded.admin_token, seeded.scheme_id)).content))
    assert rows(book["汇总"])[0][0] == f"{SCHEME_NAME}：{PERIOD} 对账单（第 1 版，已审批，可发放）"
    # A late order of 小王 re-closes October: its delta is paid in November's statement, labelled 2026-10.
    late = {"externalId": "late-1", "type": "order", "occurredAt": "2026-10-20T10:00:00+08:00", "staff": "guide-001"}
    assert (await ingest(tenant_id, enumerate([{**late, "amount": "1000.00"}]))).accepted == 1
    await close_period(tenant_id, seeded.scheme_id, PERIOD, force=True)
    async with tenant_unit_of_work(tenant_id):
        periods = {p.id: p.key for p in await Period.filter(tenant_id=tenant_id)}
        corrections = await LedgerLine.filter(tenant_id=tenant_id, corrects_period_id__not_isnull=True)
    assert corrections, "the re-close of an approved period posts its delta into the next statement"
    paid_in = {periods[line.period_id] for line in corrections}
    assert len(paid_in) == 1
    next_period = paid_in.pop()
    response = await download(client, CSV, seeded.admin_token, seeded.scheme_id, next_period)
    assert response.status_code == 200, response.text
    data = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))[1:]
    corrected = [row for row in data if row[9] == PERIOD]
    assert [Decimal(row[8]) for row in corrected] == [line.amount for line in corrections]
    assert {row[0] for row in corrected} == {"guide-001"}
    book = load_workbook(
        io.BytesIO((await download(client, XLSX, seeded.admin_token, seeded.scheme_id, next_period)).content)
    )
    lines = [row for sheet in book.worksheets[1:] for row in rows(sheet)[2:-1]]
    assert sorted(cents(row[5]) for row in lines if row[6] == PERIOD) == sorted(line.amount for line in corrections)


async def test_the_service_itself_refuses_staff(
    app: Starlette, client: httpx.AsyncClient, make_tenant: TenantFactory, login: Login
) -> None:
    """A caller of the service other than the route (the admin console) cannot forget the role check."""
    seeded = await seed(make_tenant, login)
    _staff, staff_token = await member(seeded.tenant, Role.STAFF, login)
    principal = await app.state.auth.authenticate(staff_token)
    with pytest.raises(AuthError) as refused:
        await export_statements(seeded.tenant.tenant_id, principal, str(seeded.scheme_id), PERIOD, "csv")
    assert refused.value.code == AuthErrorCode.FORBIDDEN
    other = await make_tenant()
    admin = await app.state.auth.authenticate(seeded.admin_token)
    with pytest.raises(AuthError):  # an admin of A asking for B's data: the principal is not B's
        await export_statements(other.tenant_id, admin, str(seeded.scheme_id), PERIOD, "csv")


def test_an_aborted_workbook_leaves_no_spooled_rows_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An export that fails or is cancelled mid-way (a lost client, a database error): the rows openpyxl spooled
    for each sheet are deleted at once, not when the process exits (they used to pile up, a workbook per failure)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # openpyxl spools into the temporary directory
    writer = XlsxStatementWriter(tmp_path / "statements.xlsx", labels("zh-CN", SCHEME_NAME, PERIOD, 1, "closed"))

    def line(team_id: int | None, staff_id: int) -> StatementLine:
        team = None if team_id is None else f"t{team_id}"
        return StatementLine(
            team_id, team, team, staff_id, f"s{staff_id}", "小王", 1, "bonus", "r", Decimal("1.00"), "d", None
        )

    writer.write([line(1, 1), line(1, 2), line(2, 3), line(None, 4)])  # the first two teams' sheets are closed
    assert os.listdir(tmp_path)  # the summary and every team sheet spooled so far
    writer.abort()
    assert os.listdir(tmp_path) == []


async def test_a_logged_out_sessions_token_is_401_like_an_expired_one(
    client: httpx.AsyncClient, make_tenant: TenantFactory, login: Login, gql: GraphQL
) -> None:
    seeded = await seed(make_tenant, login)
    assert (await gql("mutation { logout { done } }", token=seeded.admin_token))["data"]["logout"] == {"done": True}
    for path in (XLSX, CSV):
        response = await download(client, path, seeded.admin_token, seeded.scheme_id)
        assert (response.status_code, response.json()["errors"][0]["code"]) == (401, "TOKEN_REVOKED")
