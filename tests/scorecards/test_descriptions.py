"""Issue 8 item 9: every field, argument and type the scorecards and periods queries reach is described in the SDL."""

from __future__ import annotations

from graphql import GraphQLInterfaceType, GraphQLObjectType, GraphQLUnionType, build_schema, get_named_type
from graphql.type import GraphQLField, GraphQLNamedType

from schema.__main__ import sdl

QUERIES = (
    "mySchemes",
    "myScorecard",
    "myStatement",
    "myHistory",
    "leaderboard",
    "scorecards",
    "scorecard",
    "statement",
    "teamSummary",
    "periods",
    "job",
    "simulateScheme",
)
MUTATIONS = ("closePeriod", "refreshScorecards")
# Reached, but owned by the schemes domain (its config errors inside a simulation's answer).
NOT_OURS = frozenset({"SchemeConfigError"})


def test_every_field_reached_is_described() -> None:
    schema = build_schema(sdl())
    undescribed: list[str] = []
    seen: set[str] = set()

    def field(owner: str, name: str, definition: GraphQLField) -> None:
        if not definition.description:
            undescribed.append(f"{owner}.{name}")
        undescribed.extend(f"{owner}.{name}({arg})" for arg, a in definition.args.items() if not a.description)
        walk(get_named_type(definition.type))

    def walk(named: GraphQLNamedType) -> None:
        if named.name in seen or named.name in NOT_OURS:
            return
        seen.add(named.name)
        if isinstance(named, GraphQLUnionType):
            for member in named.types:
                walk(member)
        elif isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            if not named.description:
                undescribed.append(f"type {named.name}")
            for name, definition in named.fields.items():
                field(named.name, name, definition)

    assert schema.query_type is not None and schema.mutation_type is not None
    for name in QUERIES:
        field("Query", name, schema.query_type.fields[name])
    for name in MUTATIONS:
        field("Mutation", name, schema.mutation_type.fields[name])
    assert undescribed == []
