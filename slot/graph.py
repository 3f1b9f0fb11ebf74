"""Strongly connected components of a directed graph, without recursion (schemas nest deeper than Python's stack).

Used where a reference cycle changes what SLOT may do with a schema: ``slot.local_refs`` (a ``$ref`` beside
constraints on its own cycle) and ``slot.grammar.rewrites`` (cycles llguidance cannot intersect).
"""

from __future__ import annotations

from typing import Hashable, Iterator, Mapping, Sequence, TypeVar

__all__ = ["strongly_connected"]

N = TypeVar("N", bound=Hashable)


def strongly_connected(edges: Mapping[N, Sequence[N]]) -> dict[N, int]:
    """Each node of ``edges`` -> the number of its component (the visit index of the component's first node;
    iterative Tarjan, nodes started in ``edges``' order). Edges to nodes that are not keys of ``edges`` are ignored."""
    index: dict[N, int] = {}
    low: dict[N, int] = {}
    component: dict[N, int] = {}
    stack: list[N] = []
    on_stack: set[N] = set()
    for start in edges:
        if start in index:
            continue
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        work: list[tuple[N, Iterator[N]]] = [(start, iter(edges[start]))]
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in edges:
                    continue
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component[top] = index[node]
                    if top == node:
                        break
    return component
