"""Writers of a statements file: the Excel workbook and the CSV file, fed with batches of lines as they are read.

Both are synchronous (openpyxl and csv are): the service runs each batch in a worker thread so the event loop keeps
serving other requests. Memory stays flat whatever the size: openpyxl's write-only mode spools each sheet's rows to a
temporary file as they are appended (a team's sheet is closed, and its file handle released, once its team is done),
and the CSV goes straight to its file.

Workbook layout (what a payroll clerk opens):
- a summary sheet first: one row per staff member (code, name, team, the sums per kind of line, net, number of lines),
  then a totals row;
- one sheet per team (staff without a team last, in a sheet of their own): every line with its derivation, then the
  team's totals row;
- every sheet: the scheme, period, revision and state in a title row, headers in the reader's language on the second
  row, frozen below the headers, an autofilter over headers and data (the totals row stays out of it, so sorting and
  filtering never move it), money as numbers with a ¥ format.
"""

from __future__ import annotations

import contextlib
import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, TextIO, cast

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

from tenants.exports.repository import StatementLine
from tenants.i18n import Locale, Message, _
from tenants.rules.money import ZERO_MONEY, net_amount

MONEY_FORMAT: Final = '"¥"#,##0.00;[Red]-"¥"#,##0.00'
KINDS: Final = ("commission", "bonus", "penalty", "adjustment")
# Text that a spreadsheet would run as a formula (OWASP "CSV injection"): = + - @, and tab / carriage return.
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
SHEET_NAME_MAX: Final = 31
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
CSV_BOM: Final = "\ufeff"


# --- labels ----------------------------------------------------------------------------------------------------------

_KIND_LABELS: Final[dict[str, Message]] = {
    "commission": _("Commission"),
    "bonus": _("Bonus"),
    "penalty": _("Penalty"),
    "adjustment": _("Adjustment"),
}
_STATE_LABELS: Final[dict[str, Message]] = {
    "open": _("open (provisional)"),
    "closing": _("closing in progress"),
    "closed": _("closed and posted"),
    "stale": _("closed, awaiting a re-close"),
    "approved": _("approved for payroll"),
}


@dataclass(frozen=True)
class Labels:
    """Every word of the file, rendered once in the reader's locale."""

    summary_sheet: str
    no_team_sheet: str
    totals: str
    staff_code: str
    staff_name: str
    team_code: str
    team_name: str
    period: str
    revision: str
    kind: str
    rule: str
    amount: str
    derivation: str
    corrects: str
    net: str
    line_count: str
    kinds: dict[str, str]
    title: str


def labels(locale: Locale, scheme_name: str, period_key: str, revision: int, state: str) -> Labels:
    """`state`: the period's, or "approved" when the revision exported is the approved one."""

    def r(message: Message) -> str:
        return message.render(locale)

    state_label = _STATE_LABELS.get(state)
    return Labels(
        summary_sheet=r(_("Statement summary")),
        no_team_sheet=r(_("No team")),
        totals=r(_("Totals")),
        staff_code=r(_("Staff code")),
        staff_name=r(_("Staff name")),
        team_code=r(_("Team code")),
        team_name=r(_("Team name")),
        period=r(_("Statement period")),
        revision=r(_("Statement revision")),
        kind=r(_("Line kind")),
        rule=r(_("Rule key")),
        amount=r(_("Line amount")),
        derivation=r(_("How it was computed")),
        corrects=r(_("Corrects period")),
        net=r(_("Net pay")),
        line_count=r(_("Line count")),
        kinds={kind: r(message) for kind, message in _KIND_LABELS.items()},
        title=r(
            _(
                "{scheme}: statements of {period}, revision {revision} ({state})",
                scheme=scheme_name,
                period=period_key,
                revision=revision,
                state=r(state_label) if state_label is not None else state,
            )
        ),
    )


# --- text safety -----------------------------------------------------------------------------------------------------


def csv_text(value: str) -> str:
    """A text cell of the CSV: one that a spreadsheet would evaluate gets a leading apostrophe (shown as text)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def sheet_name(wanted: str, taken: set[str]) -> str:
    """A legal, unique sheet name: no []:*?/\\ or control characters, no leading or trailing apostrophe, at most 31
    characters, not blank, not Excel's reserved "History", unique ignoring case (a ~2, ~3... suffix when needed)."""
    base = _SHEET_NAME_FORBIDDEN.sub("_", wanted).strip().strip("'").strip()[:SHEET_NAME_MAX].strip("'") or "_"
    if base.casefold() == "history":
        base = f"{base}_"
    name, number = base, 1
    while name.casefold() in taken:
        number += 1
        suffix = f"~{number}"
        name = base[: SHEET_NAME_MAX - len(suffix)] + suffix
    taken.add(name.casefold())
    return name


class _TextCells:
    """Text values for one sheet: most go in as they are; text openpyxl or Excel would take for something else (a
    formula, an error value, a leading + - @) goes in as a typed string cell, quote-prefixed so that editing it in
    Excel keeps it text. Characters XML cannot hold become U+FFFD."""

    def __init__(self, sheet: WriteOnlyWorksheet) -> None:
        self._sheet = sheet

    def __call__(self, value: str) -> str | Cell:
        if ILLEGAL_CHARACTERS_RE.search(value):
            value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        if not value.startswith(FORMULA_STARTS) and value not in ERROR_CODES:
            return value
        cell = WriteOnlyCell(self._sheet)
        cell.value = value
        cell.data_type = "s"  # after the value: openpyxl types a text starting with "=" as a formula
        cell.quotePrefix = True
        return cell


def _layout(sheet: WriteOnlyWorksheet) -> Worksheet:
    """A write-only sheet's column widths and autofilter: it has them (openpyxl gives it Worksheet's setup), its
    stubs do not say so."""
    return cast(Worksheet, sheet)


def _money_cell(sheet: WriteOnlyWorksheet, value: Decimal, bold: bool = False) -> Cell:
    # openpyxl writes a Decimal as its exact digits (its stubs only name float).
    cell = WriteOnlyCell(sheet, cast(float, value))
    cell.number_format = MONEY_FORMAT
    if bold:
        cell.font = Font(bold=True)
    return cell


class _MoneyCells:
    """The money cells of one sheet's data rows: one styled cell per column, reused row after row. A write-only sheet
    serialises a row's cells during `append`, so a cell is free again once its row is appended; styling a new cell
    for every amount would cost a style lookup each (a third of the workbook's time for 20,000 staff)."""

    def __init__(self, sheet: WriteOnlyWorksheet, columns: int) -> None:
        self._cells = [_money_cell(sheet, ZERO_MONEY) for _ in range(columns)]

    def __call__(self, column: int, value: Decimal) -> Cell:
        cell = self._cells[column]
        cell.value = cast(float, value)  # a Decimal, written as its exact digits
        return cell


def _bold(sheet: WriteOnlyWorksheet, value: Any) -> Cell:
    cell = WriteOnlyCell(sheet, value)
    cell.font = Font(bold=True)
    return cell


@dataclass
class _Sums:
    """Exact sums (every amount has 2 decimals, so no rounding happens until net_amount)."""

    by_kind: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(KINDS, ZERO_MONEY))
    lines: int = 0

    def add(self, kind: str, amount: Decimal) -> None:
        self.by_kind[kind] = self.by_kind.get(kind, ZERO_MONEY) + amount
        self.lines += 1

    def merge(self, other: _Sums) -> None:
        for kind, amount in other.by_kind.items():
            self.by_kind[kind] = self.by_kind.get(kind, ZERO_MONEY) + amount
        self.lines += other.lines

    @property
    def net(self) -> Decimal:
        return net_amount(self.by_kind.values())


# --- the Excel workbook ----------------------------------------------------------------------------------------------

_LINE_WIDTHS: Final = (14, 16, 8, 10, 22, 14, 12, 80)
_SUMMARY_WIDTHS: Final = (14, 16, 14, 20, 14, 14, 14, 14, 16, 8)


class XlsxStatementWriter:
    def __init__(self, path: Path, labels: Labels) -> None:
        self._path = path
        self._labels = labels
        self._book = Workbook(write_only=True)
        self._taken: set[str] = set()
        self._headings: dict[tuple[str, bool], Cell] = {}
        self._summary = self._book.create_sheet(sheet_name(labels.summary_sheet, self._taken))
        self._summary_text = _TextCells(self._summary)
        self._summary_money = _MoneyCells(self._summary, len(KINDS) + 1)
        self._summary_rows = 0
        self._start_sheet(
            self._summary,
            _SUMMARY_WIDTHS,
            [
                labels.staff_code,
                labels.staff_name,
                labels.team_code,
                labels.team_name,
                *(labels.kinds[kind] for kind in KINDS),
                labels.net,
                labels.line_count,
            ],
        )
        self._grand = _Sums()
        self._sheet: WriteOnlyWorksheet | None = None
        self._text = self._summary_text
        self._money = self._summary_money
        self._team_key: tuple[int | None] | None = None
        self._team = _Sums()
        self._team_rows = 0
        self._staff: StatementLine | None = None
        self._staff_sums = _Sums()

    def _start_sheet(self, sheet: WriteOnlyWorksheet, widths: Sequence[int], headers: Sequence[str]) -> None:
        # Write-only sheets take widths and panes before their first row.
        for index, width in enumerate(widths, 1):
            _layout(sheet).column_dimensions[get_column_letter(index)].width = width
        sheet.freeze_panes = "A3"
        sheet.append([self._heading(sheet, self._labels.title, centered=False)])
        sheet.append([self._heading(sheet, header, centered=True) for header in headers])

    def _heading(self, sheet: WriteOnlyWorksheet, text: str, *, centered: bool) -> Cell:
        """Title and header cells, styled once and reused by every sheet (a workbook of 1,000 team sheets would
        otherwise spend a good part of its time styling the same few headings): rows are serialised as they are
        appended, and styles belong to the workbook, so one cell object serves every sheet."""
        key = (text, centered)
        cell = self._headings.get(key)
        if cell is None:
            cell = self._headings[key] = _bold(sheet, text)
            if centered:
                cell.alignment = Alignment(horizontal="center")
        return cell

    def write(self, lines: Iterable[StatementLine]) -> None:
        for line in lines:
            if self._sheet is None or self._team_key != (line.team_id,):
                self._finish_staff()
                self._finish_team()
                self._start_team(line)
            if self._staff is None or self._staff.staff_id != line.staff_id:
                self._finish_staff()
                self._staff = line
            assert self._sheet is not None
            text = self._text
            self._sheet.append(
                [
                    text(line.staff_code),
                    text(line.staff_name),
                    line.revision,
                    self._labels.kinds.get(line.kind) or text(line.kind),
                    text(line.rule_key),
                    self._money(0, line.amount),
                    line.corrects_period,
                    text(line.derivation),
                ]
            )
            self._team_rows += 1
            self._staff_sums.add(line.kind, line.amount)

    def _start_team(self, line: StatementLine) -> None:
        wanted = self._labels.no_team_sheet if line.team_id is None else (line.team_name or line.team_code or "_")
        self._sheet = self._book.create_sheet(sheet_name(wanted, self._taken))
        self._text = _TextCells(self._sheet)
        self._money = _MoneyCells(self._sheet, 1)
        self._team_key = (line.team_id,)
        self._team = _Sums()
        self._team_rows = 0
        labels = self._labels
        self._start_sheet(
            self._sheet,
            _LINE_WIDTHS,
            [
                labels.staff_code,
                labels.staff_name,
                labels.revision,
                labels.kind,
                labels.rule,
                labels.amount,
                labels.corrects,
                labels.derivation,
            ],
        )

    def _finish_staff(self) -> None:
        staff, sums = self._staff, self._staff_sums
        if staff is None:
            return
        text, money = self._summary_text, self._summary_money
        self._summary.append(
            [
                text(staff.staff_code),
                text(staff.staff_name),
                text(staff.team_code) if staff.team_code is not None else None,
                text(staff.team_name) if staff.team_name is not None else None,
                *(money(column, sums.by_kind[kind]) for column, kind in enumerate(KINDS)),
                money(len(KINDS), sums.net),
                sums.lines,
            ]
        )
        self._summary_rows += 1
        self._team.merge(sums)
        self._staff, self._staff_sums = None, _Sums()

    def _finish_team(self) -> None:
        sheet = self._sheet
        if sheet is None:
            return
        last = 2 + self._team_rows
        _layout(sheet).auto_filter.ref = f"A2:{get_column_letter(len(_LINE_WIDTHS))}{last}"
        sheet.append(
            [
                self._heading(sheet, self._labels.totals, centered=False),
                None,
                None,
                None,
                None,
                _money_cell(sheet, self._team.net, bold=True),
                None,
                None,
            ]
        )
        sheet.close()  # its rows are on disk; the file handle goes now, not when the workbook is saved
        self._grand.merge(self._team)
        self._sheet = None

    def finish(self) -> None:
        """The last team's totals, the summary's totals row, then the workbook is written to its path."""
        self._finish_staff()
        self._finish_team()
        summary, grand = self._summary, self._grand
        _layout(summary).auto_filter.ref = f"A2:{get_column_letter(len(_SUMMARY_WIDTHS))}{2 + self._summary_rows}"
        summary.append(
            [
                _bold(summary, self._labels.totals),
                None,
                None,
                None,
                *(_money_cell(summary, grand.by_kind[kind], bold=True) for kind in KINDS),
                _money_cell(summary, grand.net, bold=True),
                _bold(summary, grand.lines),
            ]
        )
        self._book.save(self._path)

    def abort(self) -> None:
        """An export that failed or was cancelled: each sheet's spooled rows are deleted now (saving deletes them;
        otherwise openpyxl keeps them on disk until the process exits, a workbook's worth per failed export)."""
        for sheet in self._book.worksheets:
            assert isinstance(sheet, WriteOnlyWorksheet)
            # The sheet's WorksheetWriter (openpyxl's, absent from its stubs), made with its first row.
            spool = vars(sheet).get("_writer")
            if spool is None:  # no row written yet: nothing on disk
                continue
            with contextlib.suppress(Exception):  # the error being raised is the one that matters
                if not sheet.closed:
                    sheet.close()
                spool.cleanup()


# --- CSV -------------------------------------------------------------------------------------------------------------


class CsvStatementWriter:
    """The same lines, one row each, UTF-8 with a byte order mark (so Excel reads the Chinese right), no totals rows
    (a file for programs as much as for people). Amounts are plain numbers with 2 decimals."""

    def __init__(self, path: Path, labels: Labels, period_key: str) -> None:
        self._labels = labels
        self._period = csv_text(period_key)
        self._file: TextIO = path.open("w", encoding="utf-8", newline="")
        self._file.write(CSV_BOM)
        self._csv = csv.writer(self._file)
        self._csv.writerow(
            [
                labels.staff_code,
                labels.staff_name,
                labels.team_code,
                labels.team_name,
                labels.period,
                labels.revision,
                labels.kind,
                labels.rule,
                labels.amount,
                labels.corrects,
                labels.derivation,
            ]
        )

    def write(self, lines: Iterable[StatementLine]) -> None:
        kinds = self._labels.kinds
        self._csv.writerows(
            [
                csv_text(line.staff_code),
                csv_text(line.staff_name),
                csv_text(line.team_code) if line.team_code is not None else "",
                csv_text(line.team_name) if line.team_name is not None else "",
                self._period,
                line.revision,
                kinds.get(line.kind) or csv_text(line.kind),
                csv_text(line.rule_key),
                f"{line.amount:.2f}",
                line.corrects_period or "",
                csv_text(line.derivation),
            ]
            for line in lines
        )

    def finish(self) -> None:
        self._file.close()

    def abort(self) -> None:
        self._file.close()
