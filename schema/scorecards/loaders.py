"""DataLoaders of the scorecards schema: the lines of every scorecard of a response come from one statement.

A loader lives for one request (in `info.context.loaders`) and is bound to the caller's tenant and principal when
created, so it can never load another tenant's rows nor rows outside the caller's scope.
"""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from schema.context import Info
from tenants.scorecards import service
from tenants.scorecards.records import LineView

LINES_LOADER = "scorecards.lines"

LinesLoader = DataLoader[tuple[int, int], list[LineView]]


def lines_loader(info: Info) -> LinesLoader:
    """The request's loader of a card's posted lines, keyed by (period id, staff id)."""
    loaders = info.context.loaders
    loader = loaders.get(LINES_LOADER)
    if loader is None:
        tenant_id = info.context.tenant_id
        principal = info.context.principal
        assert principal is not None  # only behind a tenant permission

        async def load(keys: list[tuple[int, int]]) -> list[list[LineView]]:
            found = await service.lines_of_cards(tenant_id, principal, keys)
            return [found.get(key, []) for key in keys]

        loader = loaders[LINES_LOADER] = LinesLoader(load_fn=load)
    assert isinstance(loader, DataLoader)
    return loader
