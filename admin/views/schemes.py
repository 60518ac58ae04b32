"""The scheme designer: schemes and versions, create from a template, edit a draft, publish, simulate, compare.

Every change is a tenants.schemes.service call (validation of the whole config before anything is stored, the row
lock, audit entries); a refused config re-renders the designer with what was typed and each problem next to its
field (by its JSON path), in the reader's language, with the API's codes. Simulation runs the draft on a period's real
events through tenants.periods.simulate (nothing stored).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from markupsafe import Markup
from sqladmin import action, expose
from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin.i18n import format_money, format_number, label, render
from admin.tables import SchemeRow, SchemeVersionRow
from admin.views.base import (
    MerchantPage,
    MerchantView,
    ValuesFilter,
    first_selected,
    parse_id,
    require_id,
    require_tenant,
)
from tenants.errors import DomainError, Problem
from tenants.i18n import _
from tenants.periods.simulate import simulate
from tenants.rules.config import SchemeConfigInvalid, parse_scheme_config
from tenants.schemes import service as schemes
from tenants.schemes.errors import SchemeError
from tenants.schemes.templates import TEMPLATES
from tenants.tenancy.identity import TenantId

SCHEMES = label(_("Schemes"))
# The designer's field names (DESIGN.md's configuration contract) in the reader's language.
FIELD_LABELS = {
    "key": _("Key"),
    "label": _("Label"),
    "aggregate": _("Aggregate"),
    "events": _("Event types"),
    "filter": _("Filter (JSON)"),
    "credit": _("Credit"),
    "numerator": _("Numerator"),
    "denominator": _("Denominator"),
    "target": _("Target"),
    "weight": _("Weight"),
    "on_empty": _("When empty"),
    "scoring.type": _("Scoring method"),
    "scoring.cap": _("Score cap"),
    "scoring.direction": _("Direction"),
    "bands": _("Bands"),
    "min": _("From"),
    "points": _("Points"),
    "grade": _("Grade"),
    "grades": _("Grades"),
    "type": _("Type"),
    "base": _("Base metric"),
    "mode": _("Mode"),
    "gate.min_score": _("Minimum total score"),
    "metric": _("Metric"),
    "base_amount": _("Base amount"),
    "cap": _("Cap"),
    "per_team": _("Per team"),
    "split": _("Split"),
    "tiers": _("Tiers"),
    "from": _("From"),
    "rate": _("Rate"),
    "steps": _("Steps"),
    "amount": _("Amount"),
    "ranks": _("Ranks"),
    "rank": _("Rank"),
    "below_score": _("Below score"),
    "pct_of_rewards": _("Share of rewards"),
    "periods": _("Periods"),
    "cycle": _("Cycle"),
    "timezone": _("Timezone"),
    "participants.roles": _("Participant roles"),
    "participants.teams": _("Participant teams (codes)"),
    "penalty_cap": _("Penalty cap"),
}
MAX_CONFIG_CHARS = 1_000_000  # the config validator refuses far less; this only bounds what is parsed here


def script_json(value: Any) -> str:
    """JSON safe inside a <script> element (a config may hold any text, "</script>" included)."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _designer_link(model: SchemeRow, attribute: str) -> Markup:
    return Markup('<a href="design/{}">{}</a>').format(model.id, model.name)


class SchemeAdmin(MerchantView, model=SchemeRow):
    name = label(_("Scheme"))
    name_plural = label(_("Schemes"))
    icon = "fa-solid fa-diagram-project"
    category = SCHEMES
    category_icon = "fa-solid fa-diagram-project"
    list_template = "kaohe/scheme_list.html"
    column_list: ClassVar[list[Any]] = [
        SchemeRow.id,
        SchemeRow.name,
        SchemeRow.description,
        SchemeRow.active,
        SchemeRow.created_at,
    ]
    column_labels: ClassVar[dict[Any, str]] = {
        SchemeRow.id: "ID",
        SchemeRow.name: label(_("Name")),
        SchemeRow.description: label(_("Description")),
        SchemeRow.active: label(_("Active")),
        SchemeRow.created_at: label(_("Created at")),
    }
    column_default_sort: ClassVar[list[Any]] = [(SchemeRow.id, True)]
    column_searchable_list: ClassVar[list[Any]] = [SchemeRow.name]

    @action(name="design", label=label(_("Open the designer")), add_in_list=True, add_in_detail=True)
    async def design(self, request: Request) -> Response:
        pk = first_selected(request)
        if parse_id(pk) is None:
            return RedirectResponse(str(request.url_for("admin:list", identity=self.identity)), 302)
        return RedirectResponse(str(request.url_for("admin:view-scheme_designer", scheme_id=pk)), 302)


def _status(model: SchemeVersionRow, attribute: str) -> str:
    return render(_("Published")) if model.status == "published" else render(_("Draft"))


class SchemeVersionAdmin(MerchantView, model=SchemeVersionRow):
    name = label(_("Scheme version"))
    name_plural = label(_("Scheme versions"))
    icon = "fa-solid fa-code-branch"
    category = SCHEMES
    category_icon = "fa-solid fa-diagram-project"
    column_list: ClassVar[list[Any]] = [
        SchemeVersionRow.scheme,
        SchemeVersionRow.number,
        SchemeVersionRow.status,
        SchemeVersionRow.effective_from,
        SchemeVersionRow.published_at,
        SchemeVersionRow.updated_at,
    ]
    column_details_list: ClassVar[list[Any]] = [
        SchemeVersionRow.scheme,
        SchemeVersionRow.number,
        SchemeVersionRow.status,
        SchemeVersionRow.effective_from,
        SchemeVersionRow.published_at,
        SchemeVersionRow.config,
    ]
    column_labels: ClassVar[dict[Any, str]] = {
        SchemeVersionRow.scheme: label(_("Scheme")),
        SchemeVersionRow.number: label(_("Version")),
        SchemeVersionRow.status: label(_("Status")),
        SchemeVersionRow.effective_from: label(_("Effective from")),
        SchemeVersionRow.published_at: label(_("Published at")),
        SchemeVersionRow.updated_at: label(_("Updated at")),
        SchemeVersionRow.config: label(_("Configuration")),
    }
    column_formatters: ClassVar[dict[Any, Any]] = {SchemeVersionRow.status: _status}
    column_formatters_detail: ClassVar[dict[Any, Any]] = {
        SchemeVersionRow.status: _status,
        SchemeVersionRow.config: lambda m, a: Markup("<pre>{}</pre>").format(
            json.dumps(m.config, ensure_ascii=False, indent=2)
        ),
    }
    column_default_sort: ClassVar[list[Any]] = [(SchemeVersionRow.id, True)]
    column_filters: ClassVar[list[Any]] = [ValuesFilter(SchemeVersionRow.status, title=label(_("Status")))]

    @action(name="compare", label=label(_("Compare two versions")), add_in_list=True, add_in_detail=False)
    async def compare(self, request: Request) -> Response:
        pks = [pk for pk in request.query_params.get("pks", "").split(",") if parse_id(pk) is not None]
        url = request.url_for("admin:view-scheme_diff").include_query_params(versions=",".join(pks[:2]))
        return RedirectResponse(str(url), 302)


# --- the designer ---------------------------------------------------------------------------------------------------


def _problem_view(problem: Problem[Any]) -> dict[str, str]:
    """A problem for the page: the JSON path it is about, the API's codes and the message in the reader's language."""
    detail = problem.detail.value if problem.detail is not None else ""
    return {
        "field": problem.field or "",
        "code": str(problem.code.value if hasattr(problem.code, "value") else problem.code),
        "configCode": detail,
        "message": render(problem.message),
    }


def _problems(error: DomainError[Any]) -> list[dict[str, str]]:
    return [_problem_view(problem) for problem in error.problems]


async def _load(session_maker: Any, scheme_id: int) -> tuple[SchemeRow, list[SchemeVersionRow]]:
    async with session_maker() as session:
        scheme = await session.get(SchemeRow, scheme_id)
        if scheme is None:
            raise HTTPException(status_code=404)
        versions = list(
            (
                await session.execute(
                    select(SchemeVersionRow)
                    .where(SchemeVersionRow.scheme_id == scheme_id)
                    .order_by(SchemeVersionRow.number)
                )
            ).scalars()
        )
    return scheme, versions


def _draft(versions: list[SchemeVersionRow]) -> SchemeVersionRow | None:
    return next((v for v in reversed(versions) if v.status == "draft"), None)


def _starting_config(versions: list[SchemeVersionRow]) -> dict[str, Any]:
    """The draft's config, else the latest version's (saving it opens a new draft), else the first template's."""
    draft = _draft(versions)
    if draft is not None:
        return draft.config
    if versions:
        return versions[-1].config
    return TEMPLATES[0].config


class SchemeDesignerPage(MerchantPage):
    name = label(_("Scheme designer"))
    icon = "fa-solid fa-pen-ruler"
    category = SCHEMES
    category_icon = "fa-solid fa-diagram-project"

    def is_visible(self, request: Request) -> bool:
        return False

    @expose("/schemes/new", methods=["GET", "POST"], identity="scheme_new")
    async def scheme_new(self, request: Request) -> Response:
        user, tenant_id = require_tenant(request)
        problems: list[dict[str, str]] = []
        if request.method == "POST":
            form = await request.form()
            key = str(form.get("template") or "")
            name = str(form.get("name") or "").strip() or None
            try:
                created = await schemes.create_from_template(tenant_id, user.actor, key, name)
            except SchemeError as error:
                problems = _problems(error)
            else:
                url = request.url_for("admin:view-scheme_designer", scheme_id=created.scheme.id)
                return RedirectResponse(str(url), 302)
        return await self.templates.TemplateResponse(
            request,
            "kaohe/scheme_new.html",
            {"templates": TEMPLATES, "problems": problems, "title": render(_("New scheme from a template"))},
        )

    @expose("/schemes/design/{scheme_id:int}", methods=["GET", "POST"], identity="scheme_designer")
    async def scheme_designer(self, request: Request) -> Response:
        user, tenant_id = require_tenant(request)
        scheme_id = require_id(str(request.path_params["scheme_id"]))
        scheme, versions = await _load(self._admin_ref.session_maker, scheme_id)
        config: Any = _starting_config(versions)
        config_text = json.dumps(config, ensure_ascii=False, indent=2)
        problems: list[dict[str, str]] = []
        notice = ""
        simulation = None
        status = 200
        if request.method == "POST":
            form = await request.form()
            intent = str(form.get("intent") or "save")
            if intent == "save":
                config_text = str(form.get("config") or "")[:MAX_CONFIG_CHARS]
                try:
                    submitted = json.loads(config_text)
                except (ValueError, RecursionError):  # nested past the parser's depth: no valid JSON either
                    problems = [
                        {
                            "field": "",
                            "code": "INVALID_CONFIG",
                            "configCode": "INVALID_JSON",
                            "message": render(_("The JSON view does not hold valid JSON.")),
                        }
                    ]
                    status = 400
                else:
                    try:
                        await schemes.save_draft(tenant_id, user.actor, scheme_id, submitted)
                    except SchemeError as error:
                        problems, status = _problems(error), 400
                        config = submitted
                    else:
                        notice = render(_("Draft saved."))
                        scheme, versions = await _load(self._admin_ref.session_maker, scheme_id)
                        config = _starting_config(versions)
                        config_text = json.dumps(config, ensure_ascii=False, indent=2)
            elif intent == "publish":
                draft = _draft(versions)
                try:
                    effective = date.fromisoformat(str(form.get("effective_from") or ""))
                except ValueError:
                    problems = [
                        {
                            "field": "effectiveFrom",
                            "code": "INVALID",
                            "configCode": "",
                            "message": render(_("Choose the date the version takes effect.")),
                        }
                    ]
                    status = 400
                else:
                    if draft is None:
                        problems = [
                            {
                                "field": "",
                                "code": "NOT_FOUND",
                                "configCode": "",
                                "message": render(_("There is no draft to publish; save one first.")),
                            }
                        ]
                        status = 400
                    else:
                        try:
                            await schemes.publish_version(tenant_id, user.actor, draft.id, effective)
                        except SchemeError as error:
                            problems, status = _problems(error), 400
                        else:
                            notice = render(
                                _(
                                    "Version {number} published, effective from {date}.",
                                    number=draft.number,
                                    date=effective.isoformat(),
                                )
                            )
                            scheme, versions = await _load(self._admin_ref.session_maker, scheme_id)
            elif intent == "simulate":
                simulation, problems = await _simulation(tenant_id, scheme_id, versions, str(form.get("period") or ""))
                status = 400 if problems else 200
        draft = _draft(versions)
        response: Response = await self.templates.TemplateResponse(
            request,
            "kaohe/scheme_designer.html",
            {
                "title": render(_("Scheme designer")),
                "scheme": scheme,
                "versions": versions,
                "draft": draft,
                "config_json": script_json(config),
                "config_text": config_text,
                "problems": problems,
                "problems_json": script_json(problems),
                "labels_json": script_json({k: render(v) for k, v in FIELD_LABELS.items()}),
                "notice": notice,
                "simulation": simulation,
                "format_money": format_money,
                "format_number": format_number,
                "today": datetime.now(UTC).date().isoformat(),
            },
            status_code=status,
        )
        return response

    @expose("/schemes/diff", methods=["GET"], identity="scheme_diff")
    async def scheme_diff(self, request: Request) -> Response:
        require_tenant(request)
        ids = [pk for pk in map(parse_id, request.query_params.get("versions", "").split(",")) if pk is not None][:2]
        async with self._admin_ref.session_maker() as session:
            rows = [await session.get(SchemeVersionRow, version_id) for version_id in ids]
        found = [row for row in rows if row is not None]
        if len(found) != 2 or len(ids) != 2:
            raise HTTPException(status_code=404)
        older, newer = sorted(found, key=lambda row: (row.scheme_id, row.number))
        return await self.templates.TemplateResponse(
            request,
            "kaohe/scheme_diff.html",
            {
                "title": render(_("Compare two versions")),
                "older": older,
                "newer": newer,
                "changes": config_diff(older.config, newer.config),
            },
        )


async def _simulation(
    tenant_id: TenantId, scheme_id: int, versions: list[SchemeVersionRow], period: str
) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    draft = _draft(versions) or (versions[-1] if versions else None)
    if draft is None:
        return None, [
            {
                "field": "period",
                "code": "NOT_FOUND",
                "configCode": "",
                "message": render(_("There is no draft to publish; save one first.")),
            }
        ]
    try:
        config = parse_scheme_config(draft.config)
        resolved, result = await simulate(tenant_id, scheme_id, period.strip(), config=config)
    except SchemeConfigInvalid as invalid:
        return None, [_problem_view(problem) for problem in invalid.problems]
    except DomainError as error:
        return None, [{**_problem_view(problem), "field": "period"} for problem in error.problems]
    return {"key": resolved.key, "version": draft.number, "scorecards": result.scorecards}, []


def config_diff(old: Any, new: Any, path: str = "") -> list[dict[str, str]]:
    """Changed leaves between two configs, by JSON path (lists compared item by item, metrics matched by index)."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[dict[str, str]] = []
        for key in list(old) + [k for k in new if k not in old]:
            child = f"{path}.{key}" if path else str(key)
            changes += config_diff(old.get(key, _MISSING), new.get(key, _MISSING), child)
        return changes
    if isinstance(old, list) and isinstance(new, list):
        changes = []
        for index in range(max(len(old), len(new))):
            changes += config_diff(
                old[index] if index < len(old) else _MISSING,
                new[index] if index < len(new) else _MISSING,
                f"{path}[{index}]",
            )
        return changes
    if old == new and type(old) is type(new):
        return []
    return [{"path": path, "old": _shown(old), "new": _shown(new)}]


class _Missing:
    pass


_MISSING: Any = _Missing()


def _shown(value: Any) -> str:
    if value is _MISSING:
        return "—"
    return json.dumps(value, ensure_ascii=False)
