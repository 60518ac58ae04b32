"""The committed SDL is the schema the code builds, and every error code a client can branch on is an enum."""

from __future__ import annotations

from graphql import GraphQLEnumType, GraphQLInterfaceType, GraphQLNonNull, GraphQLObjectType
from graphql import build_schema as parse_sdl

from schema.__main__ import SDL_PATH, sdl


def test_the_committed_sdl_matches_the_code() -> None:
    # When this fails after a deliberate API change: `uv run python -m schema` and commit schema/schema.graphql.
    assert SDL_PATH.read_text() == sdl()


def test_every_code_field_is_an_enum() -> None:
    schema = parse_sdl(sdl())
    not_enums = []
    for name, graphql_type in schema.type_map.items():
        if name.startswith("__") or not isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
            continue
        for field_name, field in graphql_type.fields.items():
            if field_name.endswith("code") or field_name.endswith("Code"):
                inner = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
                if not isinstance(inner, GraphQLEnumType) and not _is_merchant_code(name, field_name):
                    not_enums.append(f"{name}.{field_name}")
    assert not_enums == []


def _is_merchant_code(type_name: str, field_name: str) -> bool:
    """The merchant's own external codes (staff, team, customer codes) are data, not error codes."""
    return not type_name.endswith(("Error", "Failure", "Problem"))


def test_every_error_type_implements_problem() -> None:
    schema = parse_sdl(sdl())
    problem = schema.type_map["Problem"]
    lonely = [
        name
        for name, graphql_type in schema.type_map.items()
        if isinstance(graphql_type, GraphQLObjectType)
        and name.endswith(("Error", "ErrorType", "Failure"))
        and problem not in graphql_type.interfaces
    ]
    assert lonely == []
