"""A batch of teams against the team tree: which items can be stored so that the teams still form a forest.

Pure: the caller reads the stored part of the tree that matters (the batch's teams and parents with their ancestors)
and passes it as `stored_parent`. A parent that is neither stored nor a valid item of the batch is UNKNOWN_PARENT; an
item whose new parent would put it on a cycle (within the batch or through stored teams) is TEAM_CYCLE. Refusing an
item can invalidate the items under it, so the checks run to a fixed point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tenants.i18n import _
from tenants.staff.checks import Problems, shown
from tenants.staff.errors import MasterDataErrorCode as Code
from tenants.staff.records import TeamItem


def settle_team_references(
    candidates: dict[str, tuple[int, TeamItem]], stored_parent: Mapping[str, str | None], problems: Problems
) -> None:
    """Refuse unknown parents and cycles until what remains is a forest (mutates candidates and problems)."""
    while True:
        unknown = [
            code
            for code, (_, item) in candidates.items()
            if item.parent is not None and item.parent not in candidates and item.parent not in stored_parent
        ]
        for code in unknown:
            index, item = candidates.pop(code)
            problems.add(
                index,
                Code.UNKNOWN_PARENT,
                _("No team {code}: neither stored nor a valid item of this batch.", code=shown(item.parent)),
                "parent",
            )
        if unknown:
            continue
        parent_of = dict(stored_parent)
        parent_of.update({code: item.parent for code, (_, item) in candidates.items()})
        cycle = cycle_members(parent_of, sorted(candidates)) & set(candidates)
        if not cycle:
            return
        for code in cycle:
            index, item = candidates.pop(code)
            problems.add(
                index,
                Code.TEAM_CYCLE,
                _(
                    "Making {parent} the parent of {code} closes a cycle.",
                    parent=shown(item.parent),
                    code=shown(code),
                ),
                "parent",
            )


def cycle_members(parent_of: Mapping[str, str | None], starts: Sequence[str]) -> set[str]:
    """Codes lying on a cycle of the parent graph, in O(nodes): each node is walked at most once."""
    done: set[str] = set()
    on_cycle: set[str] = set()
    for start in starts:
        path: list[str] = []
        position: dict[str, int] = {}
        node: str | None = start
        while node is not None and node not in done:
            if node in position:  # back on the current path: everything from there on is a cycle
                on_cycle.update(path[position[node] :])
                break
            position[node] = len(path)
            path.append(node)
            node = parent_of.get(node)
        done.update(path)
    return on_cycle
