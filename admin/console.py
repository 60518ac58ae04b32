"""The admin console (sqladmin) mounted at /admin on the app: engine, session, sign-in, languages, views.

`mount_console(app, settings)` is the one entry point (server/app.py). The console shares the app's AuthService (read
from the app's state once its lifespan ran) and Tortoise (for the services every write goes through).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqladmin import Admin
from sqladmin.i18n import I18nConfig
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from admin.db import create_engine, tenant_session_maker
from admin.i18n import CHINESE, ENGLISH, format_money, format_number, install_chinese, label
from admin.security import LANGUAGE_COOKIE, ConsoleAuth, console_user, csrf_token
from admin.views.attribution import AttributionPage
from admin.views.dashboard import DashboardPage
from admin.views.masterdata import (
    ApiKeyAdmin,
    AuditAdmin,
    CustomerAdmin,
    EventAdmin,
    MemberAdmin,
    StaffAdmin,
    TeamAdmin,
)
from admin.views.pages import ChooseTenantPage, ConfirmRevokePage
from admin.views.people import PeoplePages
from admin.views.periods import LedgerLineAdmin, PeriodAdmin, PeriodPages, ScorecardAdmin
from admin.views.platform import TenantAdmin
from admin.views.schemes import SchemeAdmin, SchemeDesignerPage, SchemeVersionAdmin
from server.settings import Settings
from tenants.i18n import _
from tenants.tenancy.auth import AuthService

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def mount_console(app: Starlette, settings: Settings) -> Admin:
    install_chinese()

    def auth() -> AuthService:
        service: AuthService = app.state.auth
        return service

    backend = ConsoleAuth(
        settings.secret_key.get_secret_value(), secure_cookie=settings.env != "development", auth=auth
    )
    engine = create_engine(settings.database_url)
    console = Admin(
        app,
        session_maker=tenant_session_maker(engine),
        base_url="/admin",
        title=label(_("Kaohe console")),
        templates_dir=str(TEMPLATES),
        authentication_backend=backend,
        i18n_config=I18nConfig(
            default_locale=CHINESE,
            language_cookie_name=LANGUAGE_COOKIE,
            language_header_name=None,  # Chinese unless the reader switches (a browser's English is no choice)
            language_switcher=[CHINESE, ENGLISH],
        ),
    )
    backend.templates = console.templates
    console.admin.state.main_app = app  # the console's pages reach the app's Redis (job progress) through it
    console.admin.router.routes.insert(
        0, Mount("/kaohe-static", app=StaticFiles(directory=STATIC), name="kaohe-static")
    )
    env: Any = console.templates.env
    env.globals.update(
        csrf_token=csrf_token,
        console_user=console_user,
        format_money=format_money,
        format_number=format_number,
    )
    for view in (
        DashboardPage,
        SchemeAdmin,
        SchemeVersionAdmin,
        SchemeDesignerPage,
        PeriodAdmin,
        ScorecardAdmin,
        LedgerLineAdmin,
        PeriodPages,
        TeamAdmin,
        StaffAdmin,
        CustomerAdmin,
        EventAdmin,
        ApiKeyAdmin,
        MemberAdmin,
        AttributionPage,
        AuditAdmin,
        ChooseTenantPage,
        ConfirmRevokePage,
        PeoplePages,
        TenantAdmin,
    ):
        console.add_view(view)
    app.state.admin_engine = engine
    app.state.admin_console = console
    return console
