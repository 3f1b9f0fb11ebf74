"""Strongly connected components (slot.graph): what reference-cycle handling in local_refs and rewrites rests on."""

from __future__ import annotations

from slot.graph import strongly_connected


def test_cycles_share_a_component_and_the_rest_stand_alone() -> None:
    edges = {"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": ["d"], "e": ["a", "missing"]}
    component = strongly_connected(edges)
    assert component["a"] == component["b"] == component["c"]
    assert len({component["a"], component["d"], component["e"]}) == 3
    assert "missing" not in component  # edges to nodes that are not keys are ignored


def test_a_deep_chain_needs_no_recursion() -> None:
    n = 50_000
    edges = {i: [i + 1] for i in range(n)} | {n: [0]}
    component = strongly_connected(edges)
    assert len(set(component.values())) == 1 and len(component) == n + 1
