"""DataLoaders of the schemes schema: the versions of every scheme in one response come from one query.

A loader lives for one request (in `info.context.loaders`) and is bound to the caller's tenant when created, so it can
never load another tenant's rows.
"""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from schema.context import Info
from tenants.schemes import service
from tenants.schemes.models import SchemeVersion

VERSIONS_LOADER = "schemes.versions"

VersionsLoader = DataLoader[int, list[SchemeVersion]]


def versions_loader(info: Info) -> VersionsLoader:
    """The request's loader of a scheme's versions (by number ascending), keyed by scheme id."""
    loaders = info.context.loaders
    loader = loaders.get(VERSIONS_LOADER)
    if loader is None:
        tenant_id = info.context.tenant_id

        async def load(scheme_ids: list[int]) -> list[list[SchemeVersion]]:
            grouped = await service.versions_by_scheme(tenant_id, scheme_ids)
            return [grouped.get(scheme_id, []) for scheme_id in scheme_ids]

        loader = loaders[VERSIONS_LOADER] = VersionsLoader(load_fn=load)
    assert isinstance(loader, DataLoader)
    return loader


def forget_versions(info: Info, scheme_id: int) -> None:
    """Drop what the request's loader holds for one scheme: a mutation changed its versions."""
    loader = info.context.loaders.get(VERSIONS_LOADER)
    if isinstance(loader, DataLoader):
        loader.clear(scheme_id)
