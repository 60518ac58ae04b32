"""Errors of a request as a whole (not of one domain's use case); every one carries a stable code.

A GraphQL error that reaches a caller always has `extensions.code`:
- the document is refused before anything runs: QUERY_TOO_DEEP, TOO_MANY_ALIASES, TOO_MANY_TOKENS (the limits),
  GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED (it, or its variables, does not fit the schema);
- an argument holds text that cannot be stored: INVALID_TEXT, TEXT_TOO_LONG (schema/text_guard.py), with
  `extensions.field` naming the argument path;
- permissions and resolvers raise GraphQLErrors with their own codes (UNAUTHENTICATED, FORBIDDEN, TOO_MANY_ITEMS...),
  kept as they are (one raised without a code is kept too: a bug of its raiser, visible as such);
- a domain error (tenants.errors.DomainError, e.g. an AuthError of a permission) that a resolver does not answer as
  a typed error: its first problem's code, and `extensions.field` when it names one;
- any other exception is unexpected: INTERNAL_ERROR, with `extensions.requestId`. Its text never reaches the caller
  (it may hold SQL, driver or Python internals); the log has the message and the trace under the same request id.
HTTP answers outside GraphQL execution use the same shape: BODY_TOO_LARGE, INVALID_JSON, JSON_TOO_DEEP, BAD_REQUEST.

Messages are for people, in the reader's locale (the tenant's, else Accept-Language, else zh-CN): our errors carry an
i18n Message (a `CodedError`, or a DomainError's problem), rendered once per request by `answer_errors`. The texts of
graphql-core's parse and validation errors (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED) are for the developer of
a client and stay its English.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from functools import lru_cache
from typing import Any, cast

import structlog
from graphql import GraphQLError, GraphQLSchema, ValidationContext, ValidationRule, validate
from graphql.error import GraphQLSyntaxError
from graphql.language import DocumentNode
from graphql.validation import ASTValidationRule
from strawberry.extensions import ParserCache, SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from server.observability import current_request_id
from tenants.errors import DomainError
from tenants.i18n import DEFAULT_LOCALE, Locale, Message, _


class RequestErrorCode(StrEnum):
    QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
    TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
    TOO_MANY_TOKENS = "TOO_MANY_TOKENS"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    INVALID_TEXT = "INVALID_TEXT"
    TEXT_TOO_LONG = "TEXT_TOO_LONG"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    BODY_TOO_LARGE = "BODY_TOO_LARGE"
    INVALID_JSON = "INVALID_JSON"
    JSON_TOO_DEEP = "JSON_TOO_DEEP"
    BAD_REQUEST = "BAD_REQUEST"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"


INTERNAL_ERROR_MESSAGE = _("Internal error. Quote the request id when you report it.")


class CodedError(GraphQLError):
    """A GraphQL error of ours: a code, and a message rendered in the reader's locale when the request is answered."""

    def __init__(
        self, code: StrEnum, text: Message, *, extensions: dict[str, Any] | None = None, **location: Any
    ) -> None:
        super().__init__(str(text), extensions={"code": code.value, **(extensions or {})}, **location)
        self.text = text


def error_code(error: GraphQLError) -> str | None:
    code = (error.extensions or {}).get("code")
    return code if isinstance(code, str) else None


def _stamp(error: GraphQLError, code: RequestErrorCode) -> GraphQLError:
    error.extensions = {**(error.extensions or {}), "code": code.value}
    return error


def is_unexpected(error: GraphQLError) -> bool:
    """Raised by our code or a library as a plain exception (not a GraphQL answer nor a domain error), with no code."""
    original = error.original_error
    return error_code(error) is None and original is not None and not isinstance(original, GraphQLError | DomainError)


# --- Limits ---------------------------------------------------------------------------------------------------------


class _CodeStampingContext:
    """A validation context whose reported errors carry `code` and our message; the rest is the real context's."""

    def __init__(self, context: ValidationContext, code: RequestErrorCode, text: Message) -> None:
        self._context = context
        self._code = code
        self._text = text

    def report_error(self, error: GraphQLError) -> None:
        self._context.report_error(
            CodedError(self._code, self._text, nodes=error.nodes, source=error.source, positions=error.positions)
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def with_code(rule: type[ValidationRule], code: RequestErrorCode, text: Message) -> type[ValidationRule]:
    """The same validation rule, its errors carrying `code` and `text` (strawberry's limiters report bare English)."""

    def __init__(self: ValidationRule, context: ValidationContext) -> None:
        rule.__init__(self, cast(ValidationContext, _CodeStampingContext(context, code, text)))

    return type(f"Coded{rule.__name__}", (rule,), {"__init__": __init__})


class TokenLimitedParserCache(ParserCache):
    """strawberry's ParserCache with MaxTokensLimiter's limit, whose syntax error is coded TOO_MANY_TOKENS.

    One extension because ParserCache parses on entering the parse step: an error raised there never reaches the
    hooks of other extensions.
    """

    def __init__(self, maxsize: int, max_tokens: int) -> None:
        super().__init__(maxsize=maxsize)
        self.max_tokens = max_tokens

    def on_operation(self) -> Iterator[None]:
        self.execution_context.parse_options["max_tokens"] = self.max_tokens
        yield

    def on_parse(self) -> Iterator[None]:
        try:
            yield from super().on_parse()
        except GraphQLSyntaxError as error:
            if f"more than {self.max_tokens} tokens" in error.message:
                raise CodedError(
                    RequestErrorCode.TOO_MANY_TOKENS,
                    _("The query has more than {max_tokens} tokens.", max_tokens=self.max_tokens),
                    source=error.source,
                    positions=error.positions,
                ) from error
            raise


# --- Validation -----------------------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _validate(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...],
    hide_suggestions: bool,
) -> list[GraphQLError]:
    # strawberry's own validate_document adds these two rules; it has no switch for suggestions.
    every_rule = (*rules, MaybeNullValidationRule, OneOfInputValidationRule)
    return validate(schema, document, every_rule, hide_suggestions=hide_suggestions)


class CachedValidation(SchemaExtension):
    """strawberry's ValidationCache, with graphql-core's switch for "Did you mean ...?" suggestions (production hides
    them: with introspection off they would still spell the schema out). Documents come from ParserCache, so a
    repeated query text is the same document and hits the cache."""

    def __init__(self, hide_suggestions: bool) -> None:
        self.hide_suggestions = hide_suggestions

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        # A copy: answer_errors rewrites the answer's list in place, the cached one stays as validation made it.
        context.pre_execution_errors = list(
            _validate(context.schema._schema, context.graphql_document, context.validation_rules, self.hide_suggestions)
        )
        yield


# --- Codes and masking ----------------------------------------------------------------------------------------------


def answer_errors(errors: list[GraphQLError], locale: Locale = DEFAULT_LOCALE) -> None:
    """Logs the unexpected errors with their trace, then (in place) gives every error a code and a message in
    `locale`, and replaces the unexpected ones by INTERNAL_ERROR with the request id.

    KaoheSchema.process_errors calls it: strawberry calls that once per operation on every path (execution,
    validation, an exception while parsing), with the very list that becomes the answer. A rendered message goes into
    a new error, never into the one given: validation errors are cached, shared by requests in other locales.
    """
    log_unexpected(errors)
    for position, error in enumerate(errors):
        errors[position] = coded(error, locale)


def _answer(
    error: GraphQLError, message: str, extensions: dict[str, Any], *, keep_original: bool = True
) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error if keep_original else None,
        extensions=extensions,
    )


def coded(error: GraphQLError, locale: Locale = DEFAULT_LOCALE) -> GraphQLError:
    original = error.original_error
    if is_unexpected(error):
        return _answer(
            error,
            INTERNAL_ERROR_MESSAGE.render(locale),
            {"code": RequestErrorCode.INTERNAL_ERROR.value, "requestId": current_request_id()},
            keep_original=False,  # logged above; nothing of it travels further
        )
    if isinstance(original, DomainError) and error_code(error) is None:
        problem = original.problems[0]
        return _answer(
            error,
            problem.message.render(locale),
            {"code": problem.code.value, **({"field": problem.field} if problem.field is not None else {})},
        )
    ours = error if isinstance(error, CodedError) else original if isinstance(original, CodedError) else None
    if ours is not None:
        return _answer(error, ours.text.render(locale), dict(error.extensions or {}))
    if error_code(error) is not None:
        return error
    if isinstance(error, GraphQLSyntaxError):
        return _stamp(error, RequestErrorCode.GRAPHQL_PARSE_FAILED)
    if error.path is None:
        # Validation and variable coercion: the request does not fit the schema.
        return _stamp(error, RequestErrorCode.GRAPHQL_VALIDATION_FAILED)
    return error


def log_unexpected(errors: list[GraphQLError]) -> None:
    """One log line per unexpected error, with its trace; merged with the request id of the access log."""
    # A fresh logger per call: errors are rare, and structlog's capture_logs sees uncached loggers.
    log = structlog.get_logger("kaohe.graphql")
    for error in errors:
        if is_unexpected(error):
            log.error(
                "unexpected_error",
                request_id=current_request_id(),
                path=error.path,
                message=error.message,
                exc_info=error.original_error,
            )
