"""The GraphQL schema: one module per domain, merged here."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, ParserCache, QueryDepthLimiter, ValidationCache
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from schema.event_confirmation import EventConfirmationMutation
from schema.events import EventsMutation, EventsQuery
from schema.periods import PeriodsMutation, PeriodsQuery
from schema.schemes import SchemesMutation, SchemesQuery
from schema.staff import StaffMutation, StaffQuery
from schema.tenancy import TenancyMutation, TenancyQuery
from server.settings import Settings

QUERY_TYPES: tuple[type, ...] = (
    TenancyQuery,
    EventsQuery,
    SchemesQuery,
    StaffQuery,
    PeriodsQuery,
)
MUTATION_TYPES: tuple[type, ...] = (
    TenancyMutation,
    EventsMutation,
    SchemesMutation,
    StaffMutation,
    PeriodsMutation,
    EventConfirmationMutation,
)


class KaoheSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # Errors that carry a code are expected outcomes (unauthenticated, forbidden...): no stack trace in the logs.
        unexpected = [error for error in errors if not (error.extensions or {}).get("code")]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def build_schema(settings: Settings) -> strawberry.Schema:
    query = merge_types("Query", QUERY_TYPES)
    mutation = merge_types("Mutation", MUTATION_TYPES)
    return KaoheSchema(
        query=query,
        mutation=mutation,
        extensions=[
            # Factories: strawberry builds fresh extensions per request; the caches live at module level anyway.
            lambda: QueryDepthLimiter(max_depth=settings.graphql_max_depth),
            lambda: MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases),
            lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
        ],
    )
