"""The `kaohe` command line."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from server.settings import Settings, get_settings

app = typer.Typer(help="Kaohe (考核): staff assessment and incentive schemes.", no_args_is_help=True)
db_app = typer.Typer(help="Database bootstrap and migrations.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants.", no_args_is_help=True)
user_app = typer.Typer(help="Users.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tenant_app, name="tenant")
app.add_typer(user_app, name="user")
console = Console()
T = TypeVar("T")


def _run(factory: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await factory()

    return asyncio.run(main())


async def _with_orm(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    from tortoise import Tortoise

    from server.db import app_tortoise_config

    await Tortoise.init(config=app_tortoise_config(settings))
    try:
        return await work()
    finally:
        await Tortoise.close_connections()


@db_app.command("init")
def db_init(
    superuser_url: Annotated[str | None, typer.Option(help="A superuser URL (default: KAOHE_SUPERUSER_URL).")] = None,
) -> None:
    """Create the roles and the database (idempotent)."""
    from server.dbadmin import init_database

    settings = get_settings()
    if superuser_url:
        settings = settings.model_copy(update={"superuser_url": superuser_url})
    _run(lambda: init_database(settings))
    console.print(f"[green]database {settings.database_name} ready[/green]")


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply migrations as the owner role (idempotent)."""
    from server.dbadmin import migrate_database

    _run(lambda: migrate_database(get_settings()))
    console.print("[green]migrations applied[/green]")


@tenant_app.command("create")
def tenant_create(
    slug: str, name: str, timezone: str = "Asia/Shanghai", if_missing: Annotated[bool, typer.Option()] = False
) -> None:
    """Create a tenant."""
    from tenants.tenancy import service

    async def work() -> int:
        existing = await service.tenant_by_slug(slug)
        if existing is not None and if_missing:
            return int(existing.id)
        return int((await service.create_tenant(slug, name, timezone)).id)

    tenant_id = _run(lambda: _with_orm(get_settings(), work))
    console.print(f"tenant {slug} id={tenant_id}")


@user_app.command("create")
def user_create(
    email: str,
    password: Annotated[
        str | None, typer.Option(help="The password (prompted for a new user, or with --reset-password).")
    ] = None,
    reset_password: Annotated[
        bool, typer.Option("--reset-password", help="The user may exist: replace its password.")
    ] = False,
    tenant: Annotated[str | None, typer.Option(help="Tenant slug to join (or to change the role in).")] = None,
    role: Annotated[str, typer.Option(help="owner, admin, manager or staff")] = "admin",
    platform_operator: Annotated[
        bool | None, typer.Option("--platform-operator/--no-platform-operator", help="Grant or withdraw.")
    ] = None,
) -> None:
    """Create a user, or change an existing one as asked; optionally add it to a tenant.

    An existing user keeps its password unless --reset-password is given: a password for an existing user without
    it is refused (exit 1), so a typo in an email never silently leaves someone else's account as it was.
    """
    from rich.markup import escape

    from tenants.i18n import SOURCE_LOCALE
    from tenants.tenancy import service
    from tenants.tenancy.auth import Role
    from tenants.tenancy.errors import TenancyError
    from tenants.tenancy.identity import tenant_id_for_system

    try:
        member_role = Role(role)
    except ValueError as exc:
        raise typer.BadParameter(f"no role {role}; use owner, admin, manager or staff", param_hint="--role") from exc

    async def work() -> list[str]:
        found = await service.tenant_by_slug(tenant) if tenant else None
        if tenant and found is None:
            raise typer.BadParameter(f"no tenant {tenant}", param_hint="--tenant")
        existing = await service.user_by_email(email)
        done: list[str] = []
        if existing is None:
            secret = password or typer.prompt("Password", hide_input=True, confirmation_prompt=True)
            user = await service.create_user(email, secret, platform_operator=bool(platform_operator))
            done.append(
                f"user {user.email} created, id={user.id}" + (", platform operator" if platform_operator else "")
            )
        else:
            user = existing
            if password is not None and not reset_password:
                raise _Refused(
                    f"user {user.email} exists (id={user.id}); its password was not changed. Pass "
                    "--reset-password to replace it."
                )
            if reset_password:
                secret = password or typer.prompt("New password", hide_input=True, confirmation_prompt=True)
                await service.set_password(user.id, secret)
                done.append(f"user {user.email} (id={user.id}): password replaced")
            if platform_operator is not None and platform_operator != user.is_platform_operator:
                await service.set_platform_operator(user.id, platform_operator)
                done.append(
                    f"user {user.email} (id={user.id}): platform operator "
                    + ("granted" if platform_operator else "withdrawn")
                )
        if found is not None:
            await service.add_membership(tenant_id_for_system(found.id), user.id, member_role)
            done.append(f"user {user.email} (id={user.id}): {member_role.value} of tenant {found.slug}")
        if not done:
            done.append(
                f"user {user.email} exists (id={user.id}); nothing was asked to change (see --reset-password, "
                "--tenant, --platform-operator)"
            )
        return done

    try:
        for line in _run(lambda: _with_orm(get_settings(), work)):
            console.print(line)
    except _Refused as refused:
        console.print(f"[red]{refused}[/red]")
        raise typer.Exit(1) from refused
    except TenancyError as error:
        # The console's own texts are English: the domain's message too (the template's language).
        console.print(f"[red]{error.code}: {escape(error.message.render(SOURCE_LOCALE))}[/red]")
        raise typer.Exit(1) from error


class _Refused(Exception):
    """The command refuses what was asked; nothing was changed."""


@app.command()
def serve(
    host: str = "127.0.0.1", port: int = 8000, workers: int = 1, reload: bool = False
) -> None:  # pragma: no cover - runs a server
    """Run the API (uvicorn)."""
    import uvicorn

    uvicorn.run(
        "server.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        # The app believes X-Forwarded-For only from KAOHE_TRUSTED_PROXIES; uvicorn's own handling would trust
        # 127.0.0.1 by default, letting any local client (or a proxy forwarding the client's header) pick its address.
        proxy_headers=False,
    )


@app.command()
def worker() -> None:  # pragma: no cover - runs a worker
    """Run the arq worker."""
    from workers.settings import run

    run()


@app.command()
def close(
    tenant: Annotated[str, typer.Option(help="Tenant slug.")],
    scheme: Annotated[int, typer.Option(help="Scheme id.")],
    period: Annotated[str, typer.Option(help="Period key, e.g. 2026-10, 2026-Q4, 2026-W43.")],
    force: Annotated[bool, typer.Option(help="Re-close a closed period (posts only adjustments).")] = False,
) -> None:
    """Close (or re-close) one period now, in this process, with a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from tenants.periods.close import close_period
    from tenants.periods.errors import CloseError
    from tenants.tenancy import service
    from tenants.tenancy.identity import tenant_id_for_system

    async def work() -> str:
        found = await service.tenant_by_slug(tenant)
        if found is None:
            raise typer.BadParameter(f"no tenant {tenant}")
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("starting", total=1)

            async def report(stage: str, done: int, total: int) -> None:
                bar.update(task, description=stage, completed=done, total=max(total, 1))

            outcome = await close_period(tenant_id_for_system(found.id), scheme, period, progress=report, force=force)
        if not outcome.changed:
            return f"{period}: nothing changed (revision {outcome.revision}); nothing posted"
        return f"{period}: revision {outcome.revision}, {outcome.scorecards} scorecards, {outcome.lines_posted} lines"

    try:
        console.print(_run(lambda: _with_orm(get_settings(), work)))
    except CloseError as error:
        console.print(f"[red]{error.code}: {error.message}[/red]")
        raise typer.Exit(1) from error


@app.command()
def demo(
    host: str = "127.0.0.1", port: int = 8000, serve_too: Annotated[bool, typer.Option("--serve/--no-serve")] = True
) -> None:
    """Initialise and migrate the database, seed the demo tenant, then run the API and a worker."""
    from server.dbadmin import init_database, migrate_database
    from tenants.demo import DEMO_EMAIL, DEMO_PASSWORD, seed_demo

    settings = get_settings()
    _run(lambda: init_database(settings))
    _run(lambda: migrate_database(settings))
    summary = _run(lambda: _with_orm(settings, seed_demo))
    console.print(summary)
    console.print(f"[bold]GraphQL[/bold]   http://{host}:{port}/graphql")
    console.print(f"[bold]Health[/bold]    http://{host}:{port}/healthz  http://{host}:{port}/readyz")
    console.print(f"[bold]Login[/bold]     {DEMO_EMAIL} / {DEMO_PASSWORD}  (tenant demo)")
    if not serve_too:
        return
    worker_process = subprocess.Popen([sys.executable, "-m", "server.cli", "worker"], env=os.environ.copy())
    try:
        serve(host=host, port=port)
    finally:
        worker_process.send_signal(signal.SIGTERM)
        worker_process.wait(timeout=30)


if __name__ == "__main__":
    app()
