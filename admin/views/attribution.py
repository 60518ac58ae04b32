"""The tenant's attribution and service rules (DESIGN.md "Attribution and service rules") in the console: the versions
and the one in force, and a new version (JSON, with an effective date) saved through tenants.attribution.service,
which validates it whole (nothing stored when invalid: each problem with its JSON path and code) and audits it."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqladmin import expose
from starlette.requests import Request
from starlette.responses import Response

from admin.i18n import label, render
from admin.views.base import MerchantPage, require_tenant
from tenants.attribution import service as attribution
from tenants.errors import DomainError
from tenants.i18n import _

EXAMPLE: dict[str, Any] = {
    "exclusive_guide": {"protection_days": 30},
    "o2o": {
        "when": {"channel": "offline", "lead": "online"},
        "splits": [
            {"staff_attribute": "operator", "share": "0.3"},
            {"staff_attribute": "service", "share": "0.7"},
        ],
    },
    "large_order_threshold": "50000.00",
    "create_unknown_customers": True,
}


class AttributionPage(MerchantPage):
    name = label(_("Attribution rules"))
    icon = "fa-solid fa-share-nodes"
    category = label(_("Settings"))
    category_icon = "fa-solid fa-gear"

    @expose("/attribution", methods=["GET", "POST"], identity="attribution_rules")
    async def attribution_rules(self, request: Request) -> Response:
        user, tenant_id = require_tenant(request)
        overview = await attribution.rules_overview(tenant_id)
        current = overview.current.config if overview.current is not None else EXAMPLE
        text = json.dumps(current, ensure_ascii=False, indent=2)
        effective = ""
        problems: list[dict[str, str]] = []
        notice = ""
        status = 200
        if request.method == "POST":
            form = await request.form()
            text, effective = str(form.get("rules") or ""), str(form.get("effective_from") or "")
            try:
                rules = json.loads(text)
                day = date.fromisoformat(effective)
            except (ValueError, RecursionError):  # JSON nested past the parser's depth is no valid JSON either
                problems = [{"field": "", "code": "INVALID", "message": render(_("Give valid JSON and a date."))}]
            else:
                try:
                    version = await attribution.save_rules(tenant_id, user.actor, rules, day)
                except DomainError as refused:
                    problems = [
                        {
                            "field": problem.field or "",
                            "code": str(problem.detail or problem.code),
                            "message": render(problem.message),
                        }
                        for problem in refused.problems
                    ]
                else:
                    notice = render(
                        _("Version {number} saved, effective from {date}.", number=version.number, date=day.isoformat())
                    )
                    overview = await attribution.rules_overview(tenant_id)
            status = 400 if problems else 200
        return await self.templates.TemplateResponse(
            request,
            "kaohe/attribution.html",
            {
                "title": render(_("Attribution rules")),
                "overview": overview,
                "text": text,
                "effective": effective,
                "problems": problems,
                "notice": notice,
            },
            status_code=status,
        )
