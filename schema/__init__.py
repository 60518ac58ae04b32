"""The GraphQL schema: one module per domain, merged here, with the request-wide guards every field shares.

- Limits (depth, aliases, tokens) refuse a document before anything runs, with a code (schema/request_errors.py).
- Every field that takes arguments gets a TextGuard (schema/text_guard.py): no resolver sees unstorable or over-long
  text, except in the batch arguments of ITEM_CHECKED_ARGUMENTS, whose items the domain checks one by one.
- Every error has a code and a message in the reader's locale; unexpected ones are masked as INTERNAL_ERROR with the
  request id, and logged with a trace.
- Production turns introspection and "Did you mean ...?" suggestions off.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, SchemaExtension
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

from schema.access import AccessMutation, AccessQuery
from schema.attribution import AttributionMutation, AttributionQuery
from schema.common import TENANT_DATETIME
from schema.context import Context
from schema.events import EventConfirmationMutation, EventsMutation, EventsQuery
from schema.grading import GradingMutation, GradingQuery
from schema.payroll import PayrollMutation, PayrollQuery
from schema.periods import PeriodsMutation, PeriodsQuery
from schema.request_errors import CachedValidation, RequestErrorCode, TokenLimitedParserCache, answer_errors, with_code
from schema.schemes import SchemesMutation, SchemesQuery
from schema.scorecards import ScorecardsQuery
from schema.staff import StaffMutation, StaffQuery
from schema.subscriptions import SUBSCRIPTION_ERROR_CODES, ScorecardSubscription
from schema.tenancy import TenancyMutation, TenancyQuery
from schema.text_guard import InputNames, TextGuard
from server.settings import Settings
from tenants.i18n import DEFAULT_LOCALE, _

QUERY_TYPES: tuple[type, ...] = (
    TenancyQuery,
    EventsQuery,
    SchemesQuery,
    StaffQuery,
    PeriodsQuery,
    ScorecardsQuery,
    AccessQuery,
    PayrollQuery,
    AttributionQuery,
    GradingQuery,
)
MUTATION_TYPES: tuple[type, ...] = (
    TenancyMutation,
    EventsMutation,
    SchemesMutation,
    StaffMutation,
    PeriodsMutation,
    EventConfirmationMutation,
    AccessMutation,
    PayrollMutation,
    AttributionMutation,
    GradingMutation,
)

SUBSCRIPTION_TYPES: tuple[type, ...] = (ScorecardSubscription,)

# (type, field, argument) in GraphQL names: batches whose items the domain checks one by one, so that a bad item is
# that item's error and the others are stored. The generic text guard must not refuse these arguments whole.
ITEM_CHECKED_ARGUMENTS: frozenset[tuple[str, str, str]] = frozenset(
    {
        ("Mutation", "recordEvents", "events"),
        ("Mutation", "upsertTeams", "teams"),
        ("Mutation", "upsertStaff", "staff"),
        ("Mutation", "upsertCustomers", "customers"),
    }
)


strawberry.enum(
    RequestErrorCode,
    name="RequestErrorCode",
    description=(
        "Codes in errors[].extensions.code when a request is refused as a whole (limits, unreadable bodies, text "
        "that cannot be stored, INTERNAL_ERROR); a domain's refusals use the domain's own enum."
    ),
)


class KaoheSchema(strawberry.Schema):
    """A strawberry schema whose fields with arguments are text-guarded, and whose unexpected errors are logged."""

    def __init__(
        self,
        *args: Any,
        item_checked_arguments: frozenset[tuple[str, str, str]] = frozenset(),
        hide_suggestions: bool = False,
        **kwargs: Any,
    ) -> None:
        # Read by get_fields, which strawberry calls while building the schema in __init__.
        self._item_checked_arguments = item_checked_arguments
        self._unguarded_seen: set[tuple[str, str, str]] = set()
        self._hide_suggestions = hide_suggestions
        self._input_names: InputNames | None = None
        super().__init__(*args, **kwargs)
        unknown = item_checked_arguments - self._unguarded_seen
        if unknown:
            # A renamed field or argument would otherwise silently lose its exemption (and refuse whole batches).
            raise ValueError(f"item_checked_arguments names no argument of the schema: {sorted(unknown)}")

    def get_fields(self, type_definition: StrawberryObjectDefinition) -> list[StrawberryField]:
        fields = super().get_fields(type_definition)
        if type_definition.is_input:
            return fields
        return [self._guarded(type_definition.name, field) if field.arguments else field for field in fields]

    def _guarded(self, type_name: str, field: StrawberryField) -> StrawberryField:
        names = self.config.name_converter
        if self._input_names is None:
            self._input_names = InputNames(names)
        field_name = names.get_graphql_name(field)
        guarded: list[tuple[str, str]] = []
        for argument in field.arguments:
            argument_name = names.get_graphql_name(argument)
            if (type_name, field_name, argument_name) in self._item_checked_arguments:
                self._unguarded_seen.add((type_name, field_name, argument_name))
            else:
                guarded.append((argument.python_name, argument_name))
        # A copy: the domain modules' field objects stay as declared (several schemas may be built from them).
        copied = copy.copy(field)
        # First in the list is innermost in strawberry's chain: the guard runs after the permission check.
        copied.extensions = [TextGuard(guarded, self._input_names), *copied.extensions]
        return copied

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # Errors that carry a code are expected outcomes (unauthenticated, forbidden...): no stack trace in the logs.
        context = execution_context.context if execution_context is not None else None
        answer_errors(errors, context.locale if isinstance(context, Context) else DEFAULT_LOCALE)

    def _get_custom_context_kwargs(
        self, operation_extensions: dict[str, Any] | None = None, *, sync: bool = False
    ) -> dict[str, Any]:
        # graphql-core's switch for "Did you mean ...?" in execution errors (variable values); strawberry has none.
        kwargs = super()._get_custom_context_kwargs(operation_extensions, sync=sync)
        if self._hide_suggestions:
            kwargs["hide_suggestions"] = True
        return kwargs


def schema_extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """The request-wide extensions, in order; tests build small schemas with the very same list."""
    # Built once per schema (not per request) so that the same rule classes make the validation cache hit.
    rules: list[type[ASTValidationRule]] = [
        with_code(
            depth_validator(settings.graphql_max_depth, None),
            RequestErrorCode.QUERY_TOO_DEEP,
            _("The query nests deeper than {max_depth} levels.", max_depth=settings.graphql_max_depth),
        ),
        with_code(
            alias_validator(settings.graphql_max_aliases),
            RequestErrorCode.TOO_MANY_ALIASES,
            _("The query uses more than {max_aliases} aliases.", max_aliases=settings.graphql_max_aliases),
        ),
    ]
    if settings.is_production:
        rules.append(NoSchemaIntrospectionCustomRule)
    return [
        # Factories: strawberry builds fresh extensions per request; the caches live at module level anyway.
        lambda: TokenLimitedParserCache(maxsize=256, max_tokens=settings.graphql_max_tokens),
        lambda: AddValidationRules(rules),
        lambda: CachedValidation(hide_suggestions=settings.is_production),
    ]


def build_schema(settings: Settings) -> strawberry.Schema:
    query = merge_types("Query", QUERY_TYPES)
    mutation = merge_types("Mutation", MUTATION_TYPES)
    return KaoheSchema(
        query=query,
        mutation=mutation,
        subscription=merge_types("Subscription", SUBSCRIPTION_TYPES),
        # Referenced by no field: listed so that the SDL documents the codes.
        types=[RequestErrorCode, *SUBSCRIPTION_ERROR_CODES],
        extensions=schema_extensions(settings),
        item_checked_arguments=ITEM_CHECKED_ARGUMENTS,
        hide_suggestions=settings.is_production,
        # Every DateTime with the reader's tenant's UTC offset (schema/common.py).
        scalar_overrides={datetime: TENANT_DATETIME},
    )
